package dev.r2relay.jms;

import static dev.r2relay.jms.JmsTesting.brokerUrl;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.support.LogCapture;
import dev.r2relay.support.RelayApp;
import dev.r2relay.support.S3ProxyServer;
import dev.r2relay.support.TestClients;
import jakarta.jms.Connection;
import jakarta.jms.MessageConsumer;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/** Messages on the trigger queue, sent by a plain JMS client, fetch the objects they name into the inbox. */
class JmsTriggerTest {

    private static final String BUCKET = "jms-trigger";
    private static final String TRIGGERS = "r2.fetch-requests";

    @TempDir
    Path work;
    private S3ProxyServer server;
    private S3Client s3;
    private RelayApp app;
    private Connection connection;
    private Session session;

    @BeforeEach
    void start() throws Exception {
        server = new S3ProxyServer();
        server.createBucket(BUCKET);
        s3 = TestClients.s3(server);
        Map<String, String> settings = RelayApp.settingsFor(server, BUCKET, work);
        settings.put("relay.poll.enabled", "false");
        settings.put("relay.trigger.queue.enabled", "true");
        settings.put("relay.jms.port", "0");
        app = RelayApp.start(settings);
        connection = new ActiveMQConnectionFactory(brokerUrl(app)).createConnection();
        connection.start();
        session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
    }

    @AfterEach
    void stop() throws Exception {
        connection.close();
        app.close();
        s3.close();
        server.close();
    }

    @Test
    void aMessageNamingAKeyFetchesThatObject() throws Exception {
        put("in/report.csv", "a,b\n");
        send("in/report.csv");
        Path file = work.resolve("inbox/in/report.csv");
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(file));
        assertThat(Files.readString(file)).isEqualTo("a,b\n");
    }

    @Test
    void anR2EventNotificationFetchesTheObjectOnceEvenWhenDuplicated() throws Exception {
        String etag = put("events/e.json", "{}");
        String event = "{\"account\":\"3f4b7e3dcab231cbfdaa90a6a28bd548\",\"action\":\"PutObject\",\"bucket\":\""
                + BUCKET + "\",\"object\":{\"key\":\"events/e.json\",\"size\":2,\"eTag\":\"" + etag + "\"},"
                + "\"eventTime\":\"2024-05-24T19:36:44.379Z\"}";
        send(event);
        send(event);
        send("{\"key\":\"events/e.json\"}");
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(work.resolve("inbox/events/e.json")));
        // every message consumed (the queue drains), and one download only
        await().atMost(Duration.ofSeconds(30)).until(() -> JmsTesting.broker(app).messageCount(TRIGGERS) == 0);
        assertThat(server.getCount(BUCKET)).isEqualTo(1);
    }

    @Test
    void aFailedFetchIsRolledBackAndRedeliveredAfterADelayUntilItWorks() throws Exception {
        put("in/later.csv", "x,y\n");
        Files.writeString(work.resolve("inbox"), "a file where the inbox folder should be");
        try (LogCapture logs = LogCapture.open()) {
            send("in/later.csv");
            await().atMost(Duration.ofSeconds(30)).until(() -> logs.matching("WARN", "not delivered",
                    "key=in/later.csv", "returned to its source").size() >= 2);
            List<String> failures = logs.matching("not delivered", "key=in/later.csv");
            Files.delete(work.resolve("inbox"));
            Path file = work.resolve("inbox/in/later.csv");
            await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(file));
            assertThat(file).hasContent("x,y\n");
            assertThat(failures).hasSizeLessThan(EmbeddedBroker.MAX_DELIVERY_ATTEMPTS);
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> JmsTesting.broker(app).messageCount(TRIGGERS) == 0);
        assertThat(JmsTesting.broker(app).messageCount("DLQ")).isZero();
    }

    @Test
    void anUnreadableMessageGoesToTheDeadLetterQueueWithItsReason() throws Exception {
        send("{\"key\": ");
        try (MessageConsumer dlq = session.createConsumer(session.createQueue("DLQ"))) {
            TextMessage dead = (TextMessage) dlq.receive(30_000);
            assertThat(dead).isNotNull();
            assertThat(dead.getText()).isEqualTo("{\"key\": ");
            assertThat(dead.getStringProperty("R2RelayInvalidReason")).contains("not valid JSON");
        }
        assertThat(work.resolve("inbox")).doesNotExist();
    }

    private String put(String key, String content) {
        return s3.putObject(b -> b.bucket(BUCKET).key(key), RequestBody.fromString(content, StandardCharsets.UTF_8))
                .eTag().replace("\"", "");
    }

    private void send(String body) throws Exception {
        try (MessageProducer producer = session.createProducer(session.createQueue(TRIGGERS))) {
            producer.send(session.createTextMessage(body));
        }
    }
}
