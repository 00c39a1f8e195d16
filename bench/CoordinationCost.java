import dev.r2relay.jms.EmbeddedBroker;
import dev.r2relay.state.DeliveryLedger;
import dev.r2relay.state.ObjectClaims;
import jakarta.jms.BytesMessage;
import jakarta.jms.Connection;
import jakarta.jms.DeliveryMode;
import jakarta.jms.MessageConsumer;
import jakarta.jms.MessageProducer;
import jakarta.jms.Queue;
import jakarta.jms.Session;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;

/**
 * What coordinating several instances costs per object, measured both ways r2-relay could do it:
 *
 * - claims (what r2-relay does): each instance lists the bucket itself and, per object, claims it
 *   in the shared PostgreSQL ledger, reads the ledger again, and releases the claim after the
 *   delivery is recorded: three statements;
 * - a work queue fed by one elected lister: per object, one persistent message sent to an Artemis
 *   queue (the embedded broker, journal synced) and taken by a transacted consumer.
 *
 * Both run with the same number of threads, against this machine's PostgreSQL and an embedded
 * broker in this JVM. Run by bench/scaleout.sh; prints one line per way.
 *
 *   java -cp 'target/classes:target/lib/*' bench/CoordinationCost.java JDBC_URL USER OBJECTS THREADS FOLDER
 */
public final class CoordinationCost {

    public static void main(String[] args) throws Exception {
        String url = args[0];
        String user = args[1];
        int objects = Integer.parseInt(args[2]);
        int threads = Integer.parseInt(args[3]);
        Path folder = Path.of(args[4]);
        Files.createDirectories(folder);
        for (int round = 0; round < 2; round++) { // the first round warms the JIT up
            double claims = claims(url, user, objects, threads, "r" + round);
            double jms = jmsHop(folder.resolve("artemis-" + round), objects, threads);
            if (round == 1) {
                System.out.printf("coordination: claims %.0f objects/s (%.0f us each); JMS hop %.0f objects/s"
                        + " (%.0f us each); %d objects, %d threads%n", claims, 1e6 / claims * threads, jms,
                        1e6 / jms * threads, objects, threads);
            }
        }
        System.exit(0);
    }

    /** Objects per second through claim, ledger read, release. */
    private static double claims(String url, String user, int objects, int threads, String tag) throws Exception {
        try (DeliveryLedger ledger = DeliveryLedger.open(url, user, null);
             ObjectClaims claims = ledger.claims("bench-" + tag, Duration.ofSeconds(30))) {
            AtomicInteger next = new AtomicInteger();
            return timed(threads, () -> {
                int i;
                while ((i = next.getAndIncrement()) < objects) {
                    String key = tag + "/obj-" + i;
                    if (!claims.claim("bench", key, "e").won()) {
                        throw new IllegalStateException("claim refused: " + key);
                    }
                    ledger.recordedEtag("bench", key);
                    claims.release("bench", key);
                }
            }, objects);
        }
    }

    /** Objects per second through a persistent send and a transacted receive on the embedded broker. */
    private static double jmsHop(Path journal, int objects, int threads) throws Exception {
        try (EmbeddedBroker broker = EmbeddedBroker.start(journal, 0, "work")) {
            ActiveMQConnectionFactory factory = new ActiveMQConnectionFactory(broker.url());
            try (Connection connection = factory.createConnection()) {
                connection.start();
                AtomicInteger sent = new AtomicInteger();
                AtomicInteger received = new AtomicInteger();
                byte[] body = new byte[200]; // a work item: bucket, key, ETag, size
                return timed(threads, () -> {
                    try (Session producerSession = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
                         Session consumerSession = connection.createSession(true, Session.SESSION_TRANSACTED)) {
                        Queue queue = producerSession.createQueue("work");
                        MessageProducer producer = producerSession.createProducer(queue);
                        producer.setDeliveryMode(DeliveryMode.PERSISTENT);
                        MessageConsumer consumer = consumerSession.createConsumer(consumerSession.createQueue("work"));
                        while (sent.getAndIncrement() < objects) {
                            BytesMessage m = producerSession.createBytesMessage();
                            m.writeBytes(body);
                            producer.send(m);
                            if (consumer.receive(10_000) == null) {
                                throw new IllegalStateException("no work item within 10 s");
                            }
                            consumerSession.commit();
                            received.incrementAndGet();
                        }
                    }
                }, objects);
            }
        }
    }

    private interface Work {
        void run() throws Exception;
    }

    private static double timed(int threads, Work work, int objects) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            long start = System.nanoTime();
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    work.run();
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            return objects / ((System.nanoTime() - start) / 1e9);
        } finally {
            pool.shutdownNow();
        }
    }
}
