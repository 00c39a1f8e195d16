package dev.r2relay.jms;

import dev.r2relay.support.RelayApp;
import dev.r2relay.support.S3Server;
import jakarta.jms.BytesMessage;
import jakarta.jms.Connection;
import jakarta.jms.ConnectionFactory;
import jakarta.jms.JMSException;
import jakarta.jms.Message;
import jakarta.jms.MessageConsumer;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** What the JMS tests share: seeding a bucket, the app's settings, and a plain JMS consumer. */
public final class JmsTesting {

    public static final String QUEUE = "r2.objects";

    private JmsTesting() {
    }

    /** The app against {@code server}, delivering to the embedded broker on a free port. */
    public static Map<String, String> jmsSettings(S3Server server, String bucket, Path work) {
        Map<String, String> p = RelayApp.settingsFor(server, bucket, work);
        p.put("relay.target", "jms");
        p.put("relay.jms.port", "0");
        return p;
    }

    public static S3Client s3(S3Server server) {
        return S3Client.builder().endpointOverride(server.endpoint()).region(Region.US_EAST_1)
                .forcePathStyle(true).requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(server.accessKey(), server.secretKey())))
                .build();
    }

    public static void put(S3Client s3, String bucket, String key, byte[] bytes, String contentType) {
        s3.putObject(b -> b.bucket(bucket).key(key).contentType(contentType), RequestBody.fromBytes(bytes));
    }

    /** {@code size} reproducible pseudo-random bytes. */
    public static byte[] bytes(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    public static String md5(byte[] bytes) throws Exception {
        return java.util.HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(bytes));
    }

    /** The embedded broker's CORE URL, as another process on this machine would use it. */
    public static String brokerUrl(RelayApp app) {
        EmbeddedBroker broker = broker(app);
        return "tcp://127.0.0.1:" + broker.port();
    }

    public static EmbeddedBroker broker(RelayApp app) {
        return app.camel().getRegistry().lookupByNameAndType("relayJmsBroker", EmbeddedBroker.class);
    }

    /** One consumed message: its body (bytes, or the UTF-8 of a text body) and its properties. */
    public record Received(boolean text, byte[] body, Map<String, Object> properties, int deliveryMode) {
        public String key() {
            return (String) properties.get("R2RelayKey");
        }

        public String bodyText() {
            return new String(body, java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    public static Received read(Message m) throws JMSException {
        Map<String, Object> properties = new LinkedHashMap<>();
        for (Object name : Collections.list(m.getPropertyNames())) {
            properties.put((String) name, m.getObjectProperty((String) name));
        }
        if (m instanceof TextMessage t) {
            return new Received(true, t.getText().getBytes(java.nio.charset.StandardCharsets.UTF_8), properties,
                    m.getJMSDeliveryMode());
        }
        if (m instanceof BytesMessage b) {
            byte[] body = new byte[(int) b.getBodyLength()];
            b.readBytes(body);
            return new Received(false, body, properties, m.getJMSDeliveryMode());
        }
        throw new AssertionError("unexpected message type " + m.getClass().getName());
    }

    /**
     * Consumes {@code count} messages from {@code queue} (failing when they do not come within
     * {@code within}), then whatever else arrives within {@code quiet}: more than {@code count} is
     * reported, not hidden.
     */
    public static List<Received> consume(ConnectionFactory factory, String queue, int count, Duration within,
                                  Duration quiet) throws JMSException {
        List<Received> received = new ArrayList<>();
        try (Connection connection = factory.createConnection()) {
            connection.start();
            Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
            MessageConsumer consumer = session.createConsumer(session.createQueue(queue));
            long deadline = System.nanoTime() + within.toNanos();
            while (received.size() < count) {
                long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
                Message m = consumer.receive(left);
                if (m == null) {
                    break;
                }
                received.add(read(m));
            }
            for (Message m = consumer.receive(quiet.toMillis()); m != null; m = consumer.receive(quiet.toMillis())) {
                received.add(read(m));
            }
        }
        return received;
    }

    public static ConnectionFactory core(String url) {
        return new ActiveMQConnectionFactory(url);
    }

    public static ConnectionFactory core(String url, String user, String password) {
        return new ActiveMQConnectionFactory(url, user, password);
    }
}
