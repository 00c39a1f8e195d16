package dev.r2relay.cfqueue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.r2relay.config.RelaySettings;
import dev.r2relay.support.CloudflareQueueStandIn;
import dev.r2relay.support.CloudflareQueueStandIn.AckMode;
import dev.r2relay.support.LogCapture;
import dev.r2relay.support.RelayApp;
import dev.r2relay.support.RelayProcess;
import dev.r2relay.support.S3ProxyServer;
import dev.r2relay.support.TestClients;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The Cloudflare Queue trigger of the real application against a local stand-in of the Queues
 * pull API and S3Proxy: R2 event notifications are pulled, their objects delivered to the inbox,
 * and each message acked only once its object is there.
 */
class CloudflareQueueTriggerTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String ACCOUNT = "3f4b7e3dcab231cbfdaa90a6a28bd548";
    private static final String QUEUE = "9a0364b9e99bb480dd25e1f0284c8555";
    private static final String TOKEN = "cfq-TOKEN-never-print-7f3e2a91";
    private static final String LEASE_MS = "1500";

    @TempDir
    Path work;
    private String bucket;
    private S3ProxyServer server;
    private S3Client s3;
    private CloudflareQueueStandIn queue;
    private LogCapture logs;
    private RelayApp app;

    @BeforeEach
    void start(TestInfo test) throws Exception {
        bucket = "cfq-" + Integer.toHexString(test.getDisplayName().hashCode() & 0xfffffff);
        server = new S3ProxyServer();
        server.createBucket(bucket);
        s3 = TestClients.s3(server);
        queue = new CloudflareQueueStandIn(ACCOUNT, QUEUE, TOKEN);
        logs = LogCapture.open();
    }

    @AfterEach
    void stop() throws Exception {
        if (app != null) {
            app.close();
        }
        try {
            assertThat(logs.lines()).as("no log line shows the API token").noneMatch(l -> l.contains(TOKEN));
        } finally {
            logs.close();
            queue.close();
            s3.close();
            server.close();
        }
    }

    private Map<String, String> settings() {
        Map<String, String> p = RelayApp.settingsFor(server, bucket, work);
        p.put("relay.poll.enabled", "false");
        p.put("relay.trigger.cloudflare-queue.enabled", "true");
        p.put("relay.trigger.cloudflare-queue.account-id", ACCOUNT);
        p.put("relay.trigger.cloudflare-queue.queue-id", QUEUE);
        p.put("relay.trigger.cloudflare-queue.api-token", TOKEN);
        p.put("relay.trigger.cloudflare-queue.api-url", queue.url());
        p.put("relay.trigger.cloudflare-queue.visibility-timeout", LEASE_MS);
        p.put("relay.trigger.cloudflare-queue.retry-delay", "1");
        p.put("relay.trigger.cloudflare-queue.poll-interval", "100");
        return p;
    }

    @Test
    void anR2EventIsDeliveredToTheInboxAndAckedAfterwards() throws Exception {
        String etag = put("2024/08/02/orders.csv", "id,total\n1,9.99\n");
        String id = queue.send(event("PutObject", "2024/08/02/orders.csv", etag), "json");
        app = RelayApp.start(settings());

        Path file = work.resolve("inbox/2024/08/02/orders.csv");
        await().atMost(WAIT).until(() -> queue.isAcked(id));
        assertThat(Files.readString(file)).isEqualTo("id,total\n1,9.99\n");
        assertThat(queue.attempts(id)).isEqualTo(1);
        assertThat(server.getCount(bucket)).isEqualTo(1);

        JsonNode pull = queue.pullRequests().get(0).body();
        assertThat(pull.path("batch_size").asInt()).isEqualTo(10);
        assertThat(pull.path("visibility_timeout_ms").asLong()).isEqualTo(Long.parseLong(LEASE_MS));
        assertThat(queue.pullRequests()).allMatch(r -> r.authorization().equals("Bearer " + TOKEN));
        assertThat(queue.ackRequests()).hasSize(1);
        JsonNode ack = queue.ackRequests().get(0).body();
        assertThat(ack.path("acks")).hasSize(1);
        assertThat(ack.path("retries")).isEmpty();
        assertThat(logs.matching("delivered bucket=" + bucket, "key=2024/08/02/orders.csv")).hasSize(1);
    }

    @Test
    void aFailedDeliveryIsRetriedAfterTheDelayAndAckedOnlyOnceDelivered() throws Exception {
        String etag = put("reports/q3.csv", "q3");
        Files.writeString(work.resolve("inbox"), "a file where the inbox folder should be");
        String id = queue.send(event("PutObject", "reports/q3.csv", etag), "json");
        app = RelayApp.start(settings());

        await().atMost(WAIT).until(() -> queue.attempts(id) >= 2);
        assertThat(queue.isAcked(id)).isFalse();
        JsonNode firstSettle = queue.ackRequests().get(0).body();
        assertThat(firstSettle.path("acks")).isEmpty();
        assertThat(firstSettle.path("retries")).hasSize(1);
        assertThat(firstSettle.path("retries").get(0).path("delay_seconds").asLong()).isEqualTo(1);
        assertThat(logs.matching("WARN", "Cloudflare Queue message " + id, "asking for a retry in 1 s")).isNotEmpty();

        Files.delete(work.resolve("inbox"));
        await().atMost(WAIT).until(() -> queue.isAcked(id));
        assertThat(Files.readString(work.resolve("inbox/reports/q3.csv"))).isEqualTo("q3");
    }

    @Test
    void aMessageWhoseAckIsLostComesBackAfterItsLeaseAndIsDeliveredOnce() throws Exception {
        String etag = put("in/once.bin", "only once");
        String id = queue.send(event("PutObject", "in/once.bin", etag), "json");
        queue.acks(AckMode.FAIL);
        app = RelayApp.start(settings());
        await().atMost(WAIT).until(() -> Files.exists(work.resolve("inbox/in/once.bin")));
        await().atMost(WAIT).until(() -> !logs.matching("WARN", "acking 1 and retrying 0").isEmpty());
        app.close();
        app = null;
        assertThat(queue.isAcked(id)).isFalse();

        // a new run on the same state: the message comes back when its lease ends, and is only acked
        queue.acks(AckMode.APPLY);
        app = RelayApp.start(settings());
        await().atMost(WAIT).until(() -> queue.isAcked(id));
        assertThat(queue.attempts(id)).isGreaterThanOrEqualTo(2);
        assertThat(server.getCount(bucket)).as("downloaded once").isEqualTo(1);
        assertThat(logs.matching("delivered bucket=" + bucket, "key=in/once.bin")).hasSize(1);
        assertThat(logs.matching("in/once.bin skipped: its current version is already settled")).isNotEmpty();
    }

    @Test
    void aMessageLeasedByARelayKilledBeforeItsAckComesBackAndIsDeliveredOnce() throws Exception {
        String etag = put("in/killed.bin", "delivered, never acked");
        String id = queue.send(event("PutObject", "in/killed.bin", etag), "json");
        queue.acks(AckMode.HOLD);
        RelayProcess.copyShippedRoutes(work.resolve("routes"));
        Map<String, String> env = new LinkedHashMap<>();
        settings().forEach((key, value) -> env.put(RelaySettings.envName(key), value));
        try (RelayProcess child = RelayProcess.in(work).env(env).start("run")) {
            await().atMost(Duration.ofSeconds(60)).until(() -> {
                assertThat(child.isAlive()).as(child::stderrSoFar).isTrue();
                return !queue.ackRequests().isEmpty();
            });
            assertThat(work.resolve("inbox/in/killed.bin")).hasContent("delivered, never acked");
            assertThat(child.stderrSoFar()).doesNotContain(TOKEN);
        } // killed (SIGKILL) while its ack waits for an answer
        assertThat(queue.isAcked(id)).isFalse();

        queue.acks(AckMode.APPLY);
        app = RelayApp.start(settings());
        await().atMost(WAIT).until(() -> queue.isAcked(id));
        assertThat(queue.attempts(id)).isEqualTo(2);
        assertThat(server.getCount(bucket)).as("downloaded once").isEqualTo(1);
        assertThat(logs.matching("in/killed.bin skipped: its current version is already settled")).hasSize(1);
    }

    @Test
    void duplicatedEventsDeliverOnceAndAreAllAcked() throws Exception {
        String etag = put("events/e.json", "{}");
        String event = event("PutObject", "events/e.json", etag);
        List<String> ids = List.of(queue.send(event, "json"), queue.send(event, "json"),
                queue.send("events/e.json", "text"));
        app = RelayApp.start(settings());
        await().atMost(WAIT).until(() -> ids.stream().allMatch(queue::isAcked));
        assertThat(server.getCount(bucket)).isEqualTo(1);
        assertThat(logs.matching("delivered bucket=" + bucket, "key=events/e.json")).hasSize(1);
    }

    @Test
    void textJsonArrayBytesAndUntypedBodiesAreAllRead() throws Exception {
        put("a/text.txt", "1");
        put("a/json.txt", "2");
        put("a/bytes.txt", "3");
        put("a/untyped-base64.txt", "4");
        put("a/untyped-plain.txt", "5");
        put("a/array-1.txt", "6");
        put("a/array-2.txt", "7");
        List<String> ids = List.of(
                queue.send("[{\"key\":\"a/array-1.txt\"},{\"key\":\"a/array-2.txt\"}]", "json"),
                queue.send("a/text.txt", "text"),
                queue.send("{\"key\":\"a/json.txt\"}", "json"),
                queue.send("{\"bucket\":\"" + bucket + "\",\"key\":\"a/bytes.txt\"}", "bytes"),
                queue.sendAsPulled(Base64.getEncoder().encodeToString("{\"key\":\"a/untyped-base64.txt\"}"
                        .getBytes(StandardCharsets.UTF_8)), Map.of()),
                queue.sendAsPulled("{\"key\":\"a/untyped-plain.txt\"}", Map.of()));
        app = RelayApp.start(settings());
        await().atMost(WAIT).until(() -> ids.stream().allMatch(queue::isAcked));
        assertThat(Files.readString(work.resolve("inbox/a/text.txt"))).isEqualTo("1");
        assertThat(Files.readString(work.resolve("inbox/a/json.txt"))).isEqualTo("2");
        assertThat(Files.readString(work.resolve("inbox/a/bytes.txt"))).isEqualTo("3");
        assertThat(Files.readString(work.resolve("inbox/a/untyped-base64.txt"))).isEqualTo("4");
        assertThat(Files.readString(work.resolve("inbox/a/untyped-plain.txt"))).isEqualTo("5");
        assertThat(Files.readString(work.resolve("inbox/a/array-1.txt"))).isEqualTo("6");
        assertThat(Files.readString(work.resolve("inbox/a/array-2.txt"))).isEqualTo("7");
    }

    @Test
    void anUnreadableMessageIsKeptAsPulledAndAckedNotRetried() throws Exception {
        String broken = queue.send("{\"key\": ", "json");
        String v8 = queue.sendAsPulled("/w9vIgNrZXki", Map.of("CF-Content-Type", "v8"));
        app = RelayApp.start(settings());
        await().atMost(WAIT).until(() -> queue.isAcked(broken) && queue.isAcked(v8));
        assertThat(queue.attempts(broken)).isEqualTo(1);
        assertThat(queue.attempts(v8)).isEqualTo(1);

        Path kept = work.resolve("state/cloudflare-queue/unreadable/" + broken + ".json");
        String text = Files.readString(kept);
        assertThat(text).contains("\"id\" : \"" + broken + "\"", "not valid JSON",
                "\"body\" : \"" + Base64.getEncoder().encodeToString("{\"key\": ".getBytes(StandardCharsets.UTF_8)),
                "\"CF-Content-Type\" : \"json\"");
        assertThat(Files.readString(work.resolve("state/cloudflare-queue/unreadable/" + v8 + ".json")))
                .contains("content type v8", "\"body\" : \"/w9vIgNrZXki\"");
        assertThat(logs.matching("ERROR", "Cloudflare Queue message " + broken, "cannot be read", "acked"))
                .hasSize(1);
        assertThat(work.resolve("inbox")).doesNotExist();
    }

    @Test
    void eventsOutOfOrderDeliverTheCurrentVersionOnceAndAStaleDeleteKeepsTheFile() throws Exception {
        String v1 = put("doc.txt", "version 1");
        String v2 = put("doc.txt", "version 2");
        // the newer event arrives first, the older after it; then a delete that happened before v2
        List<String> ids = List.of(queue.send(event("PutObject", "doc.txt", v2), "json"),
                queue.send(event("PutObject", "doc.txt", v1), "json"),
                queue.send(deleteEvent("doc.txt"), "json"));
        Map<String, String> settings = settings();
        settings.put("relay.trigger.delete-files", "true");
        app = RelayApp.start(settings);
        await().atMost(WAIT).until(() -> ids.stream().allMatch(queue::isAcked));
        assertThat(Files.readString(work.resolve("inbox/doc.txt"))).isEqualTo("version 2");
        assertThat(server.getCount(bucket)).isEqualTo(1);
        assertThat(app.ledger().recordedEtag(bucket, "doc.txt")).isEqualTo(v2);
        assertThat(logs.matching("doc.txt", "the bucket holds it", "kept")).hasSize(1);
    }

    @Test
    void serverErrorsAndRateLimitsAreRetriedWithBackoff() throws Exception {
        String etag = put("slow/down.txt", "eventually");
        String id = queue.send(event("PutObject", "slow/down.txt", etag), "json");
        queue.failPulls(2, 429, "2");
        app = RelayApp.start(settings());
        await().atMost(WAIT).until(() -> queue.isAcked(id));
        List<CloudflareQueueStandIn.Request> pulls = queue.pullRequests();
        assertThat(pulls.size()).isGreaterThanOrEqualTo(3);
        assertThat(pulls.get(1).arrivedMillis() - pulls.get(0).arrivedMillis())
                .as("Retry-After: 2 is honoured").isGreaterThanOrEqualTo(1900);
        assertThat(pulls.get(2).arrivedMillis() - pulls.get(1).arrivedMillis()).isGreaterThanOrEqualTo(1900);
        assertThat(logs.matching("WARN", "HTTP 429", "trying again in 2000 ms")).hasSize(1);
        assertThat(Files.readString(work.resolve("inbox/slow/down.txt"))).isEqualTo("eventually");
    }

    @Test
    void aRefusedTokenIsReportedNamingTheSettingWithoutShowingAnyToken() throws Exception {
        String wrong = "cfq-WRONG-token-never-print-0c11";
        Map<String, String> settings = settings();
        settings.put("relay.trigger.cloudflare-queue.api-token", wrong);
        app = RelayApp.start(settings);
        await().atMost(WAIT).until(() -> !logs.matching("ERROR", "HTTP 403").isEmpty());
        String line = logs.matching("ERROR", "HTTP 403").get(0);
        assertThat(line).contains("code 10000: Authentication error", "relay.trigger.cloudflare-queue.api-token",
                "RELAY_TRIGGER_CLOUDFLARE_QUEUE_API_TOKEN", "trying again in 60000 ms");
        assertThat(queue.refusedRequests()).hasSize(1);
        assertThat(logs.lines()).noneMatch(l -> l.contains(wrong));
    }

    private String put(String key, String content) {
        return s3.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromString(content, StandardCharsets.UTF_8))
                .eTag().replace("\"", "");
    }

    private String event(String action, String key, String etag) {
        return "{\"account\":\"" + ACCOUNT + "\",\"action\":\"" + action + "\",\"bucket\":\"" + bucket
                + "\",\"object\":{\"key\":\"" + key + "\",\"size\":9,\"eTag\":\"" + etag + "\"},"
                + "\"eventTime\":\"2024-05-24T19:36:44.379Z\"}";
    }

    private String deleteEvent(String key) {
        return "{\"account\":\"" + ACCOUNT + "\",\"action\":\"DeleteObject\",\"bucket\":\"" + bucket
                + "\",\"object\":{\"key\":\"" + key + "\"},\"eventTime\":\"2024-05-24T19:30:00.000Z\"}";
    }
}
