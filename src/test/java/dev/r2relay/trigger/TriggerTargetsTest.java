package dev.r2relay.trigger;

import static dev.r2relay.support.FaultProxy.getOf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.jms.JmsTesting;
import dev.r2relay.jms.JmsTesting.Received;
import dev.r2relay.support.FaultProxy.Served;
import dev.r2relay.support.HttpSink;
import dev.r2relay.support.LogCapture;
import dev.r2relay.support.ProxiedS3;
import dev.r2relay.support.RelayApp;
import dev.r2relay.support.RelayHttp;
import jakarta.jms.Connection;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * relay.trigger.target sends what triggers fetch to the JMS queue or the HTTP endpoint instead of
 * the inbox; the fetch asks for the version it checked (If-Match), and an event naming an older
 * version delivers the newer one and says so.
 */
class TriggerTargetsTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String TRIGGERS = "r2.fetch-requests";

    @RegisterExtension
    static final ProxiedS3 S3 = new ProxiedS3("trigger-targets");

    @TempDir
    Path work;

    @Test
    void anEventOnTheTriggerQueueNamingAnOlderVersionSendsTheNewerOneToTheJmsTarget() throws Exception {
        String older = put("events/report.csv", "v1\n");
        String newer = put("events/report.csv", "v2, longer\n");
        Map<String, String> settings = settings();
        settings.put("relay.trigger.queue.enabled", "true");
        settings.put("relay.trigger.target", "jms");
        settings.put("relay.jms.port", "0");

        try (LogCapture logs = LogCapture.open(); RelayApp app = RelayApp.start(settings)) {
            ActiveMQConnectionFactory broker = new ActiveMQConnectionFactory(JmsTesting.brokerUrl(app));
            try (Connection connection = broker.createConnection()) {
                Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
                try (MessageProducer producer = session.createProducer(session.createQueue(TRIGGERS))) {
                    producer.send(session.createTextMessage(event("events/report.csv", 3, older)));
                }
            }

            List<Received> messages = JmsTesting.consume(broker, JmsTesting.QUEUE, 1, WAIT, Duration.ofSeconds(1));

            assertThat(messages).hasSize(1);
            Received m = messages.get(0);
            assertThat(m.bodyText()).isEqualTo("v2, longer\n");
            assertThat(m.properties()).containsEntry("R2RelayBucket", S3.bucket())
                    .containsEntry("R2RelayKey", "events/report.csv").containsEntry("R2RelayETag", newer);
            assertThat(logs.matching("events/report.csv", "names ETag " + older, "newer version " + newer))
                    .hasSize(1);
            assertThat(app.ledger().recordedEtag(S3.bucket(), "events/report.csv")).isEqualTo(newer);
        }
        assertOneGetOfVersion("events/report.csv", newer);
        assertThat(work.resolve("inbox")).doesNotExist();
    }

    @Test
    void aPostToFetchSendsTheObjectToTheHttpTarget() throws Exception {
        byte[] body = "{\"rows\": 3}".getBytes(StandardCharsets.UTF_8);
        String etag = S3.s3().putObject(b -> b.bucket(S3.bucket()).key("in/a b.json").contentType("application/json"),
                RequestBody.fromBytes(body)).eTag().replace("\"", "");
        int port = RelayHttp.freePort();
        Map<String, String> settings = RelayHttp.serverOn(settings(), port);
        settings.put("relay.trigger.http.enabled", "true");
        settings.put("relay.trigger.target", "http");

        try (HttpSink sink = new HttpSink()) {
            settings.put("relay.http.url", sink.url("/ingest/{key}"));
            try (RelayApp app = RelayApp.start(settings)) {
                HttpResponse<String> accepted = new RelayHttp(port).post("/fetch",
                        "{\"bucket\":\"" + S3.bucket() + "\",\"key\":\"in/a b.json\"}", "application/json");
                assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);

                await().atMost(WAIT).until(() -> app.ledger().recordedEtag(S3.bucket(), "in/a b.json") != null);
            }

            assertThat(sink.received()).hasSize(1);
            HttpSink.Received request = sink.received().get(0);
            assertThat(request.method()).isEqualTo("POST");
            assertThat(request.rawPath()).isEqualTo("/ingest/in/a%20b.json");
            assertThat(request.header("Content-Type")).startsWith("application/json");
            assertThat(request.header("R2RelayETag")).isEqualTo(etag);
            assertThat(request.size()).isEqualTo(body.length);
            assertThat(request.sha256()).isEqualTo(sha256(body));
        }
        assertOneGetOfVersion("in/a b.json", etag);
        assertThat(work.resolve("inbox")).doesNotExist();
    }

    /** The object was downloaded once, with If-Match on the version the trigger checked. */
    private void assertOneGetOfVersion(String key, String etag) {
        List<Served> gets = S3.proxy().served(getOf(key));
        assertThat(gets).as("GETs of %s", key).hasSize(1);
        assertThat(gets.get(0).request().header("If-Match")).isEqualTo("\"" + etag + "\"");
    }

    private Map<String, String> settings() {
        Map<String, String> p = S3.settings(work);
        p.put("relay.poll.enabled", "false");
        return p;
    }

    private String put(String key, String content) {
        return S3.s3().putObject(b -> b.bucket(S3.bucket()).key(key),
                RequestBody.fromString(content, StandardCharsets.UTF_8)).eTag().replace("\"", "");
    }

    /** An R2 event notification, as R2 sends it to a Cloudflare Queue. */
    private static String event(String key, long size, String etag) {
        return "{\"account\":\"3f4b7e3dcab231cbfdaa90a6a28bd548\",\"action\":\"PutObject\",\"bucket\":\"" + S3.bucket()
                + "\",\"object\":{\"key\":\"" + key + "\",\"size\":" + size + ",\"eTag\":\"" + etag + "\"},"
                + "\"eventTime\":\"2026-12-04T10:00:00.000Z\"}";
    }

    private static String sha256(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }
}
