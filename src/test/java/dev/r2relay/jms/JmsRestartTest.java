package dev.r2relay.jms;

import static dev.r2relay.jms.JmsTesting.QUEUE;
import static dev.r2relay.jms.JmsTesting.broker;
import static dev.r2relay.jms.JmsTesting.brokerUrl;
import static dev.r2relay.jms.JmsTesting.consume;
import static dev.r2relay.jms.JmsTesting.core;
import static dev.r2relay.jms.JmsTesting.jmsSettings;
import static dev.r2relay.jms.JmsTesting.put;
import static dev.r2relay.jms.JmsTesting.s3;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.jms.JmsTesting.Received;
import dev.r2relay.support.RelayApp;
import dev.r2relay.support.S3ProxyServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.Level;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

/** Exactly one message per object across restarts of the app and its embedded broker. */
class JmsRestartTest {

    private static final String BUCKET = "restart-bucket";

    @TempDir
    Path work;

    @Test
    void oneMessagePerObjectAcrossARestartAndAResendAfterACrash() throws Exception {
        try (S3ProxyServer server = new S3ProxyServer(); S3Client s3 = s3(server)) {
            server.createBucket(BUCKET);
            put(s3, BUCKET, "a.txt", "alpha".getBytes(StandardCharsets.UTF_8), "text/plain");
            put(s3, BUCKET, "b.txt", "bravo".getBytes(StandardCharsets.UTF_8), "text/plain");
            Map<String, String> settings = jmsSettings(server, BUCKET, work);

            try (RelayApp app = RelayApp.start(settings)) {
                await().atMost(Duration.ofSeconds(60)).until(() -> app.ledger().count() == 2);
                awaitPolls(server, 3);
                assertThat(broker(app).messageCount(QUEUE)).isEqualTo(2);
            }

            // A crash after the broker accepted b.txt's message but before the ledger recorded it:
            // the next run sends b.txt again, with the same _AMQ_DUPL_ID.
            forget(work.resolve("state"), "b.txt");
            put(s3, BUCKET, "c.txt", "charlie".getBytes(StandardCharsets.UTF_8), "text/plain");

            try (LogCapture logs = LogCapture.attach(); RelayApp app = RelayApp.start(settings)) {
                await().atMost(Duration.ofSeconds(60)).until(() -> app.ledger().count() == 3);
                awaitPolls(server, 3);
                // b.txt was sent again (and a.txt was not) ...
                assertThat(logs.find("dev.r2relay.delivered", Level.INFO, "key=b.txt")).hasSize(1);
                assertThat(logs.find("dev.r2relay.delivered", Level.INFO, "key=a.txt")).isEmpty();
                // ... and the broker dropped the copy: the messages of the first run survived the
                // restart in the journal, and there is one per object
                assertThat(broker(app).messageCount(QUEUE)).isEqualTo(3);
                List<Received> received = consume(core(brokerUrl(app)), QUEUE, 3, Duration.ofSeconds(30),
                        Duration.ofSeconds(1));
                assertThat(received).extracting(Received::key).containsExactlyInAnyOrder("a.txt", "b.txt", "c.txt");
                assertThat(received).filteredOn(r -> r.key().equals("b.txt")).singleElement()
                        .satisfies(r -> assertThat(r.bodyText()).isEqualTo("bravo"));

                // later polls send nothing more
                awaitPolls(server, 3);
                await().atMost(Duration.ofSeconds(30)).until(() -> broker(app).messageCount(QUEUE) == 0);
                assertThat(consume(core(brokerUrl(app)), QUEUE, 0, Duration.ZERO, Duration.ofSeconds(1))).isEmpty();
            }
        }
    }

    /** Waits until the app has listed the bucket {@code polls} more times. */
    private static void awaitPolls(S3ProxyServer server, int polls) {
        long seen = server.listCount(BUCKET);
        await().atMost(Duration.ofSeconds(60)).until(() -> server.listCount(BUCKET) >= seen + polls);
    }

    /** Removes a key from the ledger of a stopped app, as if the app had died before recording it. */
    private static void forget(Path state, String key) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:h2:file:" + state.resolve("ledger"), "relay", "");
             PreparedStatement ps = c.prepareStatement("DELETE FROM relay_ledger WHERE object_key = ?")) {
            ps.setString(1, key);
            assertThat(ps.executeUpdate()).isEqualTo(1);
        }
    }
}
