package dev.r2relay.deadletter;

import jakarta.jms.Connection;
import jakarta.jms.ConnectionFactory;
import jakarta.jms.DeliveryMode;
import jakarta.jms.JMSException;
import jakarta.jms.Message;
import jakarta.jms.MessageConsumer;
import jakarta.jms.MessageProducer;
import jakarta.jms.Queue;
import jakarta.jms.QueueBrowser;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dead letters as persistent JMS text messages on a queue, one per object: the body is the
 * letter's JSON, the properties name it ({@value #LETTER_ID}, bucket, key, ETag). A new letter for
 * the same object replaces the old one in the same transaction; {@link #list()} browses the queue
 * without consuming it; {@link #remove} consumes the letter of one object.
 */
public final class JmsDeadLetterStore implements DeadLetterStore {

    /** The message property holding {@link DeadLetter#idOf}: selectors find a letter by it. */
    public static final String LETTER_ID = "R2RelayDeadLetterId";

    private static final Logger LOG = LoggerFactory.getLogger(JmsDeadLetterStore.class);
    /** How long to wait for a letter the browser saw to reach the consumer that removes it. */
    private static final long RECEIVE_TIMEOUT_MS = 5000;

    private final ConnectionFactory factory;
    private final String queue;
    private final String broker;

    public JmsDeadLetterStore(ConnectionFactory factory, String queue, String broker) {
        this.factory = factory;
        this.queue = queue;
        this.broker = broker;
    }

    public String queue() {
        return queue;
    }

    @Override
    public String describe() {
        return "queue " + queue + (broker == null ? "" : " of " + broker);
    }

    @Override
    public void put(DeadLetter letter) throws IOException {
        String id = DeadLetter.idOf(letter.bucket(), letter.key());
        try (Connection connection = factory.createConnection()) {
            connection.start();
            Session session = connection.createSession(true, Session.SESSION_TRANSACTED);
            Queue destination = session.createQueue(queue);
            int replaced = take(session, destination, id);
            TextMessage message = session.createTextMessage(letter.toJson());
            message.setStringProperty(LETTER_ID, id);
            message.setStringProperty("R2RelayBucket", letter.bucket());
            message.setStringProperty("R2RelayKey", letter.key());
            if (letter.etag() != null) {
                message.setStringProperty("R2RelayETag", letter.etag());
            }
            try (MessageProducer producer = session.createProducer(destination)) {
                producer.send(message, DeliveryMode.PERSISTENT, Message.DEFAULT_PRIORITY, Message.DEFAULT_TIME_TO_LIVE);
            }
            session.commit();
            LOG.debug("dead letter {} sent to {}{}", id, queue, replaced > 0 ? ", replacing " + replaced : "");
        } catch (JMSException e) {
            throw failure("storing a dead letter in", e);
        }
    }

    @Override
    public boolean remove(String bucket, String key) throws IOException {
        try (Connection connection = factory.createConnection()) {
            connection.start();
            Session session = connection.createSession(true, Session.SESSION_TRANSACTED);
            int taken = take(session, session.createQueue(queue), DeadLetter.idOf(bucket, key));
            session.commit();
            return taken > 0;
        } catch (JMSException e) {
            throw failure("removing a dead letter from", e);
        }
    }

    @Override
    public List<DeadLetter> list() throws IOException {
        List<DeadLetter> letters = new ArrayList<>();
        try (Connection connection = factory.createConnection()) {
            connection.start();
            Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
            try (QueueBrowser browser = session.createBrowser(session.createQueue(queue))) {
                for (Object o : Collections.list(browser.getEnumeration())) {
                    Message m = (Message) o;
                    if (!(m instanceof TextMessage text)) {
                        LOG.warn("Skipping message {} on {}: not a dead letter (not a text message)",
                                m.getJMSMessageID(), queue);
                        continue;
                    }
                    try {
                        letters.add(DeadLetter.fromJson(text.getText()));
                    } catch (IllegalArgumentException e) {
                        LOG.warn("Skipping message {} on {}: not a dead letter ({})", m.getJMSMessageID(), queue,
                                e.getMessage());
                    }
                }
            }
        } catch (JMSException e) {
            throw failure("browsing", e);
        }
        letters.sort(Comparator.comparing(DeadLetter::time).thenComparing(DeadLetter::key));
        return letters;
    }

    /** Consumes, within {@code session}'s transaction, the letters whose id is {@code id}; returns how many. */
    private static int take(Session session, Queue destination, String id) throws JMSException {
        String selector = LETTER_ID + " = '" + id + "'";
        int seen;
        try (QueueBrowser browser = session.createBrowser(destination, selector)) {
            seen = Collections.list(browser.getEnumeration()).size();
        }
        if (seen == 0) {
            return 0;
        }
        int taken = 0;
        try (MessageConsumer consumer = session.createConsumer(destination, selector)) {
            while (taken < seen && consumer.receive(RECEIVE_TIMEOUT_MS) != null) {
                taken++;
            }
        }
        return taken;
    }

    private IOException failure(String what, JMSException e) {
        String cause = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return new IOException(what + " the dead-letter " + describe() + " failed: " + cause, e);
    }
}
