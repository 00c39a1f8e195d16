package dev.r2relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import dev.r2relay.jms.JmsTesting;
import dev.r2relay.support.LogCapture;
import dev.r2relay.support.RelayApp;
import dev.r2relay.support.RelayProcess;
import dev.r2relay.support.S3ProxyServer;
import dev.r2relay.support.TestObjects;
import jakarta.jms.ConnectionFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;

/** The real application refuses to start when relay.target or relay.trigger.target names no route. */
class TargetRoutesTest {

    /** A target of the user's: only a route from direct:deliver-archive, recording what it gets. */
    private static final String ARCHIVE_ROUTE = """
            - route:
                id: deliver-archive
                from:
                  uri: "direct:deliver-archive"
                  steps:
                    - to:
                        id: record-archived
                        uri: "bean:deliveryRecorder?method=delivered"
            """;

    private static S3ProxyServer server;

    @TempDir
    Path work;

    @BeforeAll
    static void startServer() {
        server = new S3ProxyServer();
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @Test
    void aTargetNoRouteServesStopsTheStartNamingTheSettingTheValueAndTheTargetsThereAre(TestInfo test) {
        Map<String, String> settings = settings(test);
        settings.put("relay.target", "Archive");

        SettingsException e = settingsFailure(settings);

        assertThat(e).hasMessageContaining("relay.target (RELAY_TARGET) is 'archive'")
                .hasMessageContaining("no route consumes direct:deliver-archive")
                .hasMessageContaining("offers are: file, http (");
    }

    @Test
    void aTriggerTargetNoRouteServesStopsTheStartToo(TestInfo test) {
        Map<String, String> settings = settings(test);
        settings.put("relay.trigger.target", "nowhere");

        SettingsException e = settingsFailure(settings);

        assertThat(e).hasMessageContaining("relay.trigger.target (RELAY_TRIGGER_TARGET) is 'nowhere'")
                .hasMessageContaining("offers are: file, http (");
    }

    @Test
    void anHttpTriggerTargetWithoutAUrlStopsTheStartNamingBothSettings(TestInfo test) {
        Map<String, String> settings = settings(test);
        settings.put("relay.trigger.target", "http");

        SettingsException e = settingsFailure(settings);

        assertThat(e).hasMessageContaining("relay.trigger.target=http needs relay.http.url (RELAY_HTTP_URL)");
    }

    @Test
    void aTargetRouteThatRecordsNothingIsAcceptedWithAWarning(TestInfo test) throws Exception {
        Map<String, String> settings = settings(test);
        settings.put("relay.target", "http-attempt");
        settings.put("relay.http.url", "http://127.0.0.1:9/objects/{key}");
        settings.put("relay.poll.enabled", "false");

        try (LogCapture logs = LogCapture.open(); RelayApp app = RelayApp.start(settings)) {
            assertThat(logs.matching("WARN", "relay.target (RELAY_TARGET) is 'http-attempt'",
                    "route 'deliver-http-attempt' never calls bean:deliveryRecorder?method=delivered")).hasSize(1);
        }
    }

    @Test
    void aTargetInCapitalsDeliversAsInLowercase(TestInfo test) throws Exception {
        Map<String, String> settings = settings(test);
        String bucket = settings.get("r2.bucket");
        settings.put("relay.target", "FILE");
        try (TestObjects objects = new TestObjects(server, bucket)) {
            objects.put("a/b.txt", "bytes".getBytes(StandardCharsets.UTF_8), "text/plain");
        }

        try (RelayApp app = RelayApp.start(settings)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> app.ledger().recordedEtag(bucket, "a/b.txt") != null);
        }
        assertThat(work.resolve("inbox/a/b.txt")).hasContent("bytes");
    }

    @Test
    void aTargetRouteAddedInYamlIsAcceptedAndOfferedByName(TestInfo test) throws Exception {
        Path routes = RelayProcess.copyShippedRoutes(work.resolve("routes"));
        Files.writeString(routes.resolve("deliver-archive.camel.yaml"), ARCHIVE_ROUTE);
        Map<String, String> settings = settings(test);
        settings.put("camel.main.routes-include-pattern", "file:" + routes + "/*.camel.yaml");
        settings.put("relay.poll.enabled", "false");

        settings.put("relay.target", "archive");
        try (RelayApp app = RelayApp.start(settings)) {
            assertThat(app.camel().getRoute("deliver-archive")).isNotNull();
        }

        settings.put("relay.target", "archives");
        assertThat(settingsFailure(settings)).hasMessageContaining("offers are: archive, file, http (");

        // a route that serves the target but whose precondition is false is named as such
        Files.writeString(routes.resolve("deliver-audit.camel.yaml"), Files.readString(
                routes.resolve("deliver-jms.camel.yaml")).replace("deliver-jms", "deliver-audit"));
        settings.put("relay.target", "audit");
        assertThat(settingsFailure(settings)).hasMessageContaining("route 'deliver-audit' consumes it but is not"
                + " loaded: its precondition {{relay.jms.enabled}} is false");
    }

    @Test
    void aCopyOfTheJmsRouteWithItsQueueChangedIsATargetOfItsOwn(TestInfo test) throws Exception {
        // what a user does: copy routes/deliver-jms.camel.yaml, rename it, point it at another queue
        Path routes = RelayProcess.copyShippedRoutes(work.resolve("routes"));
        String jms = Files.readString(routes.resolve("deliver-jms.camel.yaml"));
        String audit = jms.replace("deliver-jms", "deliver-audit")
                .replace("jms:queue:{{relay.jms.queue:r2.objects}}", "jms:queue:audit");
        assertThat(audit).contains("direct:deliver-audit").contains("jms:queue:audit");
        Files.writeString(routes.resolve("deliver-audit.camel.yaml"), audit);
        Map<String, String> settings = settings(test);
        String bucket = settings.get("r2.bucket");
        settings.put("camel.main.routes-include-pattern", "file:" + routes + "/*.camel.yaml");
        settings.put("relay.target", "audit");
        settings.put("relay.jms.enabled", "true");
        settings.put("relay.jms.port", "0");
        try (TestObjects objects = new TestObjects(server, bucket)) {
            objects.put("audit/a.txt", "audited".getBytes(StandardCharsets.UTF_8), "text/plain");
        }

        try (LogCapture logs = LogCapture.open(); RelayApp app = RelayApp.start(settings)) {
            ConnectionFactory broker = JmsTesting.core(JmsTesting.brokerUrl(app));
            List<JmsTesting.Received> messages = JmsTesting.consume(broker, "audit", 1, Duration.ofSeconds(30),
                    Duration.ofSeconds(1));
            assertThat(messages).hasSize(1);
            assertThat(messages.get(0).bodyText()).isEqualTo("audited");
            assertThat(messages.get(0).key()).isEqualTo("audit/a.txt");
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> app.ledger().recordedEtag(bucket, "audit/a.txt") != null);
            assertThat(JmsTesting.broker(app).messageCount(JmsTesting.QUEUE)).isZero();
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> !logs.matching("delivered", "key=audit/a.txt").isEmpty());
            assertThat(logs.matching("delivered", "key=audit/a.txt").get(0)).contains("target=jms:queue:audit ");
            // the step ids the two routes share are named after their route
            assertThat(app.camel().getProcessor("deliver-audit.send-to-queue")).isNotNull();
            assertThat(app.camel().getProcessor("deliver-jms.send-to-queue")).isNotNull();
            assertThat(app.camel().getProcessor("write-file")).isNotNull();
        }
        assertThat(work.resolve("inbox")).doesNotExist();
    }

    private Map<String, String> settings(TestInfo test) {
        String bucket = "targets-" + Integer.toHexString(test.getDisplayName().hashCode() & 0xfffffff);
        server.createBucket(bucket);
        return RelayApp.settingsFor(server, bucket, work);
    }

    /** The SettingsException a start with {@code settings} fails with, wherever Camel wrapped it. */
    private static SettingsException settingsFailure(Map<String, String> settings) {
        Throwable thrown = catchThrowable(() -> RelayApp.start(settings).close());
        for (Throwable t = thrown; t != null; t = t.getCause()) {
            if (t instanceof SettingsException e) {
                return e;
            }
        }
        throw new AssertionError("the start did not fail with a SettingsException", thrown);
    }
}
