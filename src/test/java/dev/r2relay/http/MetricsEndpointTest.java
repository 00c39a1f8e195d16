package dev.r2relay.http;

import static dev.r2relay.support.RelayHttp.value;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.support.HttpSink;
import dev.r2relay.support.RelayApp;
import dev.r2relay.support.RelayHttp;
import dev.r2relay.support.S3ProxyServer;
import dev.r2relay.support.TestClients;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.camel.ProducerTemplate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/** The Prometheus scrape of the real application: deliveries, requests, failures and lag. */
class MetricsEndpointTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String POLL_FILE = "source=\"poll\",target=\"file\"";

    @TempDir
    Path work;
    private S3ProxyServer server;
    private S3Client s3;
    private String bucket;
    private RelayApp app;
    private RelayHttp http;

    @BeforeEach
    void startServer(TestInfo test) {
        server = new S3ProxyServer();
        s3 = TestClients.s3(server);
        bucket = "metrics-" + Integer.toHexString(test.getDisplayName().hashCode() & 0xfffffff);
        server.createBucket(bucket);
    }

    @AfterEach
    void stop() throws Exception {
        if (app != null) {
            app.close();
        }
        s3.close();
        server.close();
    }

    private void startApp() throws Exception {
        int port = RelayHttp.freePort();
        app = RelayApp.start(RelayHttp.serverOn(RelayApp.settingsFor(server, bucket, work), port));
        http = new RelayHttp(port);
    }

    private String scrape() throws Exception {
        HttpResponse<String> response = http.get("/observe/metrics");
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("content-type")).hasValueSatisfying(
                t -> assertThat(t).startsWith("text/plain"));
        return response.body();
    }

    @Test
    void deliveredObjectsBytesAndRequestsByKindRiseAsObjectsArrive() throws Exception {
        put("a.txt", "hello");
        put("b/c.bin", "x".repeat(1000));
        startApp();
        await().atMost(WAIT).until(() -> Files.exists(work.resolve("inbox/a.txt"))
                && Files.exists(work.resolve("inbox/b/c.bin")));
        await().atMost(WAIT).untilAsserted(() -> {
            String metrics = scrape();
            assertThat(value(metrics, "r2relay_delivered_objects_total", POLL_FILE)).isEqualTo(2);
            assertThat(value(metrics, "r2relay_delivered_bytes_total", POLL_FILE)).isEqualTo(1005);
        });
        String before = scrape();
        assertThat(value(before, "r2relay_s3_requests_total", "class=\"A\"", "operation=\"ListObjectsV2\""))
                .isGreaterThanOrEqualTo(1);
        assertThat(value(before, "r2relay_s3_requests_total", "class=\"B\"", "operation=\"GetObject\""))
                .isEqualTo(server.getCount(bucket));
        assertThat(value(before, "r2relay_s3_retries_total", "operation=\"GetObject\"")).isZero();
        assertThat(value(before, "r2relay_failed_deliveries_total", POLL_FILE)).isZero();
        assertThat(value(before, "r2relay_lag_seconds")).isZero();
        assertThat(value(before, "r2relay_in_flight_objects")).isZero();
        // Camel's own route metrics come with the same scrape
        assertThat(before).contains("camel_exchanges_total{").contains("routeId=\"deliver-file\"");

        put("d.txt", "later");
        await().atMost(WAIT).untilAsserted(() -> {
            String metrics = scrape();
            assertThat(value(metrics, "r2relay_delivered_objects_total", POLL_FILE)).isEqualTo(3);
            assertThat(value(metrics, "r2relay_delivered_bytes_total", POLL_FILE)).isEqualTo(1010);
            assertThat(value(metrics, "r2relay_s3_requests_total", "operation=\"ListObjectsV2\""))
                    .isGreaterThan(value(before, "r2relay_s3_requests_total", "operation=\"ListObjectsV2\""));
        });
    }

    @Test
    void lagGrowsWhileAnObjectCannotBeDeliveredAndDropsOnceItIs() throws Exception {
        Files.createDirectories(work);
        Files.writeString(work.resolve("inbox"), "a file where the inbox folder should be");
        put("stuck.txt", "waiting");
        startApp();
        AtomicReference<Double> firstLag = new AtomicReference<>();
        await().atMost(WAIT).untilAsserted(() -> {
            String metrics = scrape();
            assertThat(value(metrics, "r2relay_failed_deliveries_total", POLL_FILE)).isGreaterThanOrEqualTo(1);
            double lag = value(metrics, "r2relay_lag_seconds");
            assertThat(lag).isGreaterThanOrEqualTo(1);
            firstLag.set(lag);
        });
        await().atMost(WAIT).untilAsserted(() ->
                assertThat(value(scrape(), "r2relay_lag_seconds")).isGreaterThan(firstLag.get()));

        Files.delete(work.resolve("inbox"));
        await().atMost(WAIT).until(() -> Files.exists(work.resolve("inbox/stuck.txt")));
        await().atMost(WAIT).untilAsserted(() -> {
            String metrics = scrape();
            assertThat(value(metrics, "r2relay_delivered_objects_total", POLL_FILE)).isEqualTo(1);
            assertThat(value(metrics, "r2relay_lag_seconds")).isZero();
            assertThat(value(metrics, "r2relay_failed_pending_objects")).isZero();
        });
    }

    @Test
    void anHttpTriggerWhoseDeliveryFailsAfterIts202IsCounted() throws Exception {
        Files.createDirectories(work);
        Files.writeString(work.resolve("inbox"), "a file where the inbox folder should be");
        put("late/fail.txt", "never written");
        int port = RelayHttp.freePort();
        Map<String, String> settings = RelayHttp.serverOn(RelayApp.settingsFor(server, bucket, work), port);
        settings.put("relay.poll.enabled", "false");
        settings.put("relay.trigger.http.enabled", "true");
        app = RelayApp.start(settings);
        http = new RelayHttp(port);
        assertThat(http.post("/fetch", "late/fail.txt", "text/plain").statusCode()).isEqualTo(202);
        await().atMost(WAIT).untilAsserted(() -> {
            String metrics = scrape();
            assertThat(value(metrics, "r2relay_failed_deliveries_total", "source=\"http-trigger\"")).isEqualTo(1);
        });
        assertThat(app.ledger().recordedEtag(bucket, "late/fail.txt")).isNull();
    }

    @Test
    void deadLettersAndRetriesAreCountedThroughTheRelayMetricsBean() throws Exception {
        startApp();
        try (ProducerTemplate template = app.camel().createProducerTemplate()) {
            template.sendBody("bean:relayMetrics?method=deadLettered('http')", null);
            template.sendBody("bean:relayMetrics?method=retried('http')", null);
            template.sendBody("bean:relayMetrics?method=retried('http')", null);
        }
        String metrics = scrape();
        assertThat(value(metrics, "r2relay_dead_letters_total", "target=\"http\"")).isEqualTo(1);
        assertThat(value(metrics, "r2relay_delivery_retries_total", "target=\"http\"")).isEqualTo(2);
        assertThat(value(metrics, "r2relay_dead_letters_total", "target=\"file\"")).isZero();
    }

    @Test
    void retriesAndDeadLettersOfTheHttpTargetAreCounted() throws Exception {
        put("refused.txt", "the endpoint refuses this in the end");
        try (HttpSink sink = new HttpSink()) {
            sink.then(HttpSink.Answer.of(503), HttpSink.Answer.of(503), HttpSink.Answer.of(400));
            int port = RelayHttp.freePort();
            Map<String, String> settings = RelayHttp.serverOn(RelayApp.settingsFor(server, bucket, work), port);
            settings.put("relay.target", "http");
            settings.put("relay.http.url", sink.url("/in/{key}"));
            settings.put("relay.http.backoff", "10");
            app = RelayApp.start(settings);
            http = new RelayHttp(port);
            await().atMost(WAIT).until(() -> app.ledger().entry(bucket, "refused.txt").isPresent());

            String metrics = scrape();
            assertThat(sink.received()).hasSize(3);
            assertThat(value(metrics, "r2relay_delivery_retries_total", "target=\"http\"")).isEqualTo(2);
            assertThat(value(metrics, "r2relay_dead_letters_total", "target=\"http\"")).isEqualTo(1);
        }
    }

    private void put(String key, String content) {
        s3.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromString(content, StandardCharsets.UTF_8));
    }
}
