import jakarta.jms.BytesMessage;
import jakarta.jms.Connection;
import jakarta.jms.Message;
import jakarta.jms.MessageConsumer;
import jakarta.jms.MessageProducer;
import jakarta.jms.QueueBrowser;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.List;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;

/**
 * A plain JMS client for trying r2-relay by hand, with the Artemis client r2-relay ships:
 *
 * <pre>
 * java -cp 'target/lib/*' tools/JmsClient.java send r2.fetch-requests 2024/08/02/orders.csv
 * java -cp 'target/lib/*' tools/JmsClient.java receive r2.objects 8 [--save DIR]
 * java -cp 'target/lib/*' tools/JmsClient.java browse r2.dead-letters
 * </pre>
 *
 * It connects to {@code JMS_URL} (default tcp://127.0.0.1:61616, the embedded broker), as
 * {@code JMS_USER} with {@code JMS_PASSWORD} when set. {@code receive} consumes up to COUNT
 * messages (waiting up to 30 s for each) and prints one line per message: key, size, SHA-256 of
 * the body, claim check or not; {@code --save DIR} also writes each body to DIR/key.
 */
public final class JmsClient {

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: JmsClient send QUEUE TEXT | receive QUEUE [COUNT] [--save DIR] | browse QUEUE");
            System.exit(2);
        }
        String url = System.getenv().getOrDefault("JMS_URL", "tcp://127.0.0.1:61616");
        int code = 0;
        try (ActiveMQConnectionFactory factory = new ActiveMQConnectionFactory(url, System.getenv("JMS_USER"),
                System.getenv("JMS_PASSWORD"));
             Connection connection = factory.createConnection()) {
            connection.start();
            Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
            var queue = session.createQueue(args[1]);
            switch (args[0]) {
                case "send" -> {
                    try (MessageProducer producer = session.createProducer(queue)) {
                        producer.send(session.createTextMessage(args[2]));
                    }
                    System.out.println("sent to " + args[1] + ": " + args[2]);
                }
                case "receive" -> {
                    int count = args.length > 2 && !args[2].startsWith("--") ? Integer.parseInt(args[2]) : 1;
                    Path save = null;
                    for (int i = 2; i < args.length - 1; i++) {
                        if (args[i].equals("--save")) {
                            save = Path.of(args[i + 1]);
                        }
                    }
                    int received = 0;
                    try (MessageConsumer consumer = session.createConsumer(queue)) {
                        for (Message m; received < count && (m = consumer.receive(30_000)) != null; received++) {
                            byte[] body = body(m);
                            String key = m.getStringProperty("R2RelayKey");
                            System.out.printf("%s size=%d sha256=%s claimCheck=%s%n", key, body.length,
                                    HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body)),
                                    m.getObjectProperty("R2RelayClaimCheck"));
                            if (save != null && key != null) {
                                Path file = save.resolve(key).normalize();
                                if (!file.startsWith(save.normalize())) {
                                    throw new IllegalArgumentException("unsafe key " + key);
                                }
                                Files.createDirectories(file.getParent());
                                Files.write(file, body);
                            }
                        }
                    }
                    System.out.println("received " + received + " message(s) from " + args[1]);
                    code = received == count ? 0 : 1;
                }
                case "browse" -> {
                    List<Message> messages = new ArrayList<>();
                    try (QueueBrowser browser = session.createBrowser(queue)) {
                        Enumeration<?> all = browser.getEnumeration();
                        while (all.hasMoreElements()) {
                            messages.add((Message) all.nextElement());
                        }
                    }
                    for (Message m : messages) {
                        System.out.println(new String(body(m), StandardCharsets.UTF_8));
                    }
                    System.out.println(messages.size() + " message(s) on " + args[1]);
                }
                default -> {
                    System.err.println("unknown command " + args[0]);
                    code = 2;
                }
            }
        }
        System.exit(code);
    }

    private static byte[] body(Message m) throws Exception {
        if (m instanceof TextMessage t) {
            return t.getText().getBytes(StandardCharsets.UTF_8);
        }
        if (m instanceof BytesMessage b) {
            byte[] body = new byte[(int) b.getBodyLength()];
            b.readBytes(body);
            return body;
        }
        return new byte[0];
    }
}
