package dev.r2relay.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.support.RelayApp;
import dev.r2relay.support.RelayHttp;
import dev.r2relay.support.S3ProxyServer;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Readiness and liveness over HTTP, from the real application against S3Proxy. */
class HealthEndpointTest {

    private static final String BUCKET = "health-bucket";

    @TempDir
    Path work;
    private S3ProxyServer server;
    private RelayApp app;
    private RelayHttp http;

    @BeforeEach
    void startServer() {
        server = new S3ProxyServer();
        server.createBucket(BUCKET);
    }

    @AfterEach
    void stop() throws Exception {
        if (app != null) {
            app.close();
        }
        server.close();
    }

    private void start(Map<String, String> extra) throws Exception {
        int port = RelayHttp.freePort();
        Map<String, String> settings = RelayHttp.serverOn(RelayApp.settingsFor(server, BUCKET, work), port);
        settings.putAll(extra);
        app = RelayApp.start(settings);
        http = new RelayHttp(port);
    }

    @Test
    void healthReadinessAndLivenessAreUpWithTheRelayChecksListed() throws Exception {
        start(Map.of());
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                assertThat(http.get("/observe/health").statusCode()).isEqualTo(200));
        HttpResponse<String> full = http.get("/observe/health/ready?exposureLevel=full");
        assertThat(full.statusCode()).isEqualTo(200);
        assertThat(full.headers().firstValue("content-type")).hasValue("application/json");
        assertThat(full.body()).contains("\"status\":\"UP\"")
                .contains("\"name\":\"r2-endpoint\"").contains("\"name\":\"ledger\"");
        HttpResponse<String> live = http.get("/observe/health/live?exposureLevel=full");
        assertThat(live.statusCode()).isEqualTo(200);
        assertThat(live.body()).contains("\"status\":\"UP\"").doesNotContain("r2-endpoint").doesNotContain("ledger");
        assertThat(http.post("/fetch", "some/key", "text/plain").statusCode())
                .as("the HTTP trigger is off unless relay.trigger.http.enabled").isEqualTo(404);
    }

    @Test
    void notReadyWhileTheEndpointIsUnreachableButStillLive() throws Exception {
        start(Map.of());
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                assertThat(http.get("/observe/health/ready").statusCode()).isEqualTo(200));
        server.close();
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            HttpResponse<String> ready = http.get("/observe/health/ready");
            assertThat(ready.statusCode()).isEqualTo(503);
            assertThat(ready.body()).contains("\"status\":\"DOWN\"").contains("\"name\":\"r2-endpoint\"")
                    .contains("listing bucket " + BUCKET + " failed");
        });
        assertThat(http.get("/observe/health/live").statusCode()).isEqualTo(200);
    }

    @Test
    void notReadyOnceTheLedgerStopsAnswering() throws Exception {
        start(Map.of());
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                assertThat(http.get("/observe/health/ready").statusCode()).isEqualTo(200));
        app.ledger().close();
        HttpResponse<String> ready = http.get("/observe/health/ready");
        assertThat(ready.statusCode()).isEqualTo(503);
        assertThat(ready.body()).contains("\"name\":\"ledger\"").contains("does not answer")
                .doesNotContain("\"name\":\"r2-endpoint\"");
        assertThat(http.get("/observe/health").statusCode()).isEqualTo(503);
    }

    @Test
    void withoutPollingTheEndpointIsProbedAtMostOncePerInterval() throws Exception {
        start(Map.of("relay.poll.enabled", "false", "relay.health.s3-check-interval", "1500"));
        long listsAtStart = server.listCount(BUCKET);
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                assertThat(http.get("/observe/health/ready").statusCode()).isEqualTo(200));
        // the start-up check's listing answers the first readiness calls; then one probe per interval
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            http.get("/observe/health/ready");
            return server.listCount(BUCKET) > listsAtStart;
        });
        long afterFirstProbe = server.listCount(BUCKET);
        for (int i = 0; i < 5; i++) {
            assertThat(http.get("/observe/health/ready").statusCode()).isEqualTo(200);
        }
        assertThat(server.listCount(BUCKET)).as("answers within the interval reuse the probe")
                .isLessThanOrEqualTo(afterFirstProbe + 1);
        String metrics = http.get("/observe/metrics").body();
        assertThat(RelayHttp.value(metrics, "r2relay_health_probes_total")).isGreaterThanOrEqualTo(1);

        server.close();
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() ->
                assertThat(http.get("/observe/health/ready").statusCode()).isEqualTo(503));
    }
}
