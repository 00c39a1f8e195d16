package dev.r2relay.jms;

import dev.r2relay.delivery.RejectedKeyException;
import dev.r2relay.delivery.RelayHeaders;
import java.net.ConnectException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.activemq.artemis.api.core.ActiveMQAddressFullException;
import org.apache.activemq.artemis.api.core.ActiveMQConnectionTimedOutException;
import org.apache.activemq.artemis.api.core.ActiveMQDisconnectedException;
import org.apache.activemq.artemis.api.core.ActiveMQNotConnectedException;
import org.apache.activemq.artemis.api.core.ActiveMQObjectClosedException;
import org.apache.activemq.artemis.api.core.ActiveMQSecurityException;
import org.apache.activemq.artemis.api.core.ActiveMQUnBlockedException;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports objects the broker did not take. One WARN per object and cause: while a broker is
 * down, every poll tries each object again, and the log says so once, not once per poll.
 */
public final class JmsFailures {

    private static final Logger FAILURES = LoggerFactory.getLogger("dev.r2relay.failed");
    private static final int REMEMBERED = 10_000;

    private final String broker;
    private final Map<String, String> reported = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > REMEMBERED;
        }
    };

    /** {@code broker} names the broker in messages; it must hold no secret. */
    public JmsFailures(String broker) {
        this.broker = broker;
    }

    /** A send failed: nothing is recorded, so the next poll sends the object again. */
    public void failed(Exchange exchange) {
        Message m = exchange.getMessage();
        String bucket = m.getHeader(RelayHeaders.BUCKET, String.class);
        String key = m.getHeader(RelayHeaders.KEY, String.class);
        String identity = m.getHeader(RelayHeaders.IDENTITY, String.class);
        Cause cause = describe(exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class), broker);
        String previous;
        synchronized (reported) {
            previous = reported.put(identity == null ? bucket + "/" + key : identity, cause.kind());
        }
        String printable = key == null ? null : RejectedKeyException.printable(key);
        if (cause.kind().equals(previous)) {
            FAILURES.debug("still not delivered bucket={} key={}: {}", bucket, printable, cause.text());
        } else {
            FAILURES.warn("not delivered bucket={} key={}: {}; nothing is recorded and every poll tries again"
                    + " (reported once until it is delivered)", bucket, printable, cause.text());
        }
    }

    /** The object reached the broker: forget its failure. */
    public void forget(String identity) {
        if (identity != null) {
            synchronized (reported) {
                reported.remove(identity);
            }
        }
    }

    /** What went wrong, as a sentence without secrets, and a stable kind to report it once by. */
    record Cause(String kind, String text) {
    }

    static Cause describe(Throwable failure, String broker) {
        if (failure == null) {
            return new Cause("unknown", "unknown failure sending to the JMS broker at " + broker);
        }
        if (find(failure, ActiveMQSecurityException.class) != null
                || find(failure, jakarta.jms.JMSSecurityException.class) != null
                || find(failure, org.springframework.jms.JmsSecurityException.class) != null) {
            return new Cause("security", "the JMS broker at " + broker + " refused the credentials or the"
                    + " permission to send (relay.jms.username, relay.jms.password): " + firstLine(deepest(failure)));
        }
        if (find(failure, ActiveMQAddressFullException.class) != null) {
            return new Cause("full", "the JMS broker at " + broker + " refused the message: the address is full");
        }
        if (find(failure, ActiveMQConnectionTimedOutException.class) != null) {
            return new Cause("timeout", "the JMS broker at " + broker + " did not confirm the message in time");
        }
        if (find(failure, ActiveMQNotConnectedException.class) != null || find(failure, ConnectException.class) != null
                || find(failure, ActiveMQUnBlockedException.class) != null
                || find(failure, ActiveMQDisconnectedException.class) != null
                || find(failure, ActiveMQObjectClosedException.class) != null) {
            return new Cause("unavailable", "the JMS broker at " + broker + " is unavailable ("
                    + firstLine(deepest(failure)) + ")");
        }
        Throwable root = deepest(failure);
        return new Cause("other:" + root.getClass().getName(), "sending to the JMS broker at " + broker
                + " failed: " + root.getClass().getSimpleName() + ": " + firstLine(root));
    }

    /** Walks causes and the JMS linked exceptions, which Artemis uses instead of causes. */
    private static <T extends Throwable> T find(Throwable failure, Class<T> type) {
        int depth = 0;
        for (Throwable t = failure; t != null && depth < 20; t = next(t), depth++) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    private static Throwable deepest(Throwable failure) {
        Throwable last = failure;
        int depth = 0;
        for (Throwable t = failure; t != null && depth < 20; t = next(t), depth++) {
            last = t;
        }
        return last;
    }

    private static Throwable next(Throwable t) {
        Throwable cause = t.getCause();
        if (cause == null && t instanceof jakarta.jms.JMSException jms) {
            cause = jms.getLinkedException();
        }
        return cause == t ? null : cause;
    }

    private static String firstLine(Throwable t) {
        String message = t.getMessage();
        if (message == null) {
            return t.getClass().getSimpleName();
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
