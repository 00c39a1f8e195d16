package dev.r2relay.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.deadletter.DeadLetter;
import dev.r2relay.deadletter.FolderDeadLetterStore;
import dev.r2relay.state.DeliveryLedger;
import dev.r2relay.state.DeliveryLedger.Outcome;
import dev.r2relay.support.HttpSink;
import dev.r2relay.support.HttpSink.Answer;
import dev.r2relay.support.HttpSink.Received;
import dev.r2relay.support.LogCapture;
import dev.r2relay.support.RelayApp;
import dev.r2relay.support.S3ProxyServer;
import dev.r2relay.support.TestObjects;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real application (relay.target=http) against S3Proxy and a real HTTP server: what arrives,
 * how failures are retried, and what is dead-lettered.
 */
class HttpTargetTest {

    private static final String BUCKET = "http-bucket";
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path work;

    private S3ProxyServer s3;
    private TestObjects objects;
    private LogCapture logs;

    @BeforeEach
    void startStore() {
        s3 = new S3ProxyServer();
        s3.createBucket(BUCKET);
        objects = new TestObjects(s3, BUCKET);
        logs = LogCapture.open();
    }

    @AfterEach
    void stopStore() {
        logs.close();
        objects.close();
        s3.close();
    }

    private Map<String, String> settings(String url) {
        Map<String, String> p = RelayApp.settingsFor(s3, BUCKET, work);
        p.put("relay.target", "http");
        p.put("relay.http.url", url);
        p.put("relay.http.backoff", "50");
        p.put("relay.http.max-delay", "5000");
        p.put("relay.http.timeout", "20000");
        return p;
    }

    private static byte[] bytes(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] gzip(String text) throws java.io.IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try (java.util.zip.GZIPOutputStream gz = new java.util.zip.GZIPOutputStream(out)) {
            gz.write(text.getBytes(StandardCharsets.UTF_8));
        }
        return out.toByteArray();
    }

    private static Optional<Outcome> outcome(RelayApp app, String key) {
        return app.ledger().entry(BUCKET, key).map(DeliveryLedger.Entry::outcome);
    }

    /** Waits until the poller has listed the bucket {@code polls} more times. */
    private void awaitPolls(int polls) {
        long from = s3.listCount(BUCKET);
        await().atMost(WAIT).until(() -> s3.listCount(BUCKET) >= from + polls);
    }

    @Test
    void sendsTheObjectWithItsKeyInThePathAndItsMetadataAsHeaders() throws Exception {
        String key = "reports 2024/Ünïcode ✓ 50%+1.csv";
        byte[] body = bytes(300_000, 1);
        String etag = objects.put(key, body, "text/csv");
        objects.put("empty.txt", new byte[0], "text/plain");
        byte[] gzipped = gzip("{\"a\": 1}\n".repeat(1000));
        objects.put("data.json.gz", gzipped, "application/json", "gzip");
        String token = "tok-" + UUID.randomUUID();
        try (HttpSink sink = new HttpSink()) {
            Map<String, String> p = settings(sink.url("/ingest/{key}?tenant=t1"));
            p.put("relay.http.method", "PUT");
            p.put("relay.http.headers.Authorization", "Bearer " + token);
            p.put("relay.http.headers.X-Tenant-Id", "tenant-" + token);
            try (RelayApp app = RelayApp.start(p)) {
                await().atMost(WAIT).until(() -> sink.received().size() == 3
                        && outcome(app, key).isPresent() && outcome(app, "empty.txt").isPresent()
                        && outcome(app, "data.json.gz").isPresent());
                Received r = sink.received().stream().filter(x -> x.rawPath().contains("reports")).findFirst()
                        .orElseThrow();
                String encodedKey = "reports%202024/%C3%9Cn%C3%AFcode%20%E2%9C%93%2050%25%2B1.csv";
                assertThat(r.method()).isEqualTo("PUT");
                assertThat(r.rawPath()).isEqualTo("/ingest/" + encodedKey);
                assertThat(r.sha256()).isEqualTo(TestObjects.sha256(body));
                assertThat(r.size()).isEqualTo(body.length);
                assertThat(r.header("Content-Length")).isEqualTo(Integer.toString(body.length));
                assertThat(r.header("Transfer-Encoding")).isNull();
                assertThat(r.header("Content-Type")).isEqualTo("text/csv");
                assertThat(r.header("Content-Encoding")).isNull();
                assertThat(r.header("Authorization")).isEqualTo("Bearer " + token);
                assertThat(r.header("X-Tenant-Id")).isEqualTo("tenant-" + token);
                assertThat(r.header("R2RelayBucket")).isEqualTo(BUCKET);
                assertThat(r.header("R2RelayKey")).isEqualTo(encodedKey);
                assertThat(r.header("R2RelayETag")).isEqualTo(etag);
                assertThat(r.header("R2RelaySize")).isEqualTo(Integer.toString(body.length));
                assertThat(r.header("R2RelayIdentity")).isEqualTo(BUCKET + "/" + encodedKey + "@" + etag);

                Received empty = sink.received().stream().filter(x -> x.rawPath().equals("/ingest/empty.txt"))
                        .findFirst().orElseThrow();
                assertThat(empty.size()).isZero();
                assertThat(empty.header("Content-Length")).isEqualTo("0");

                // stored gzip bytes go as stored, and say so
                Received gz = sink.received().stream().filter(x -> x.rawPath().equals("/ingest/data.json.gz"))
                        .findFirst().orElseThrow();
                assertThat(gz.sha256()).isEqualTo(TestObjects.sha256(gzipped));
                assertThat(gz.header("Content-Encoding")).isEqualTo("gzip");
                assertThat(gz.header("Content-Type")).isEqualTo("application/json");

                DeliveryLedger.Entry entry = app.ledger().entry(BUCKET, key).orElseThrow();
                assertThat(entry.outcome()).isEqualTo(Outcome.DELIVERED);
                assertThat(entry.etag()).isEqualTo(etag);
                // the query may hold a token: it is cut from what is recorded and logged
                assertThat(entry.target()).isEqualTo(sink.url("/ingest/" + encodedKey) + "?…");
                assertThat(s3.getCount(BUCKET)).isEqualTo(3);
                awaitPolls(3);
                assertThat(sink.received()).hasSize(3);
            }
        }
        assertThat(logs.matching("delivered", "reports 2024/Ünïcode ✓ 50%+1.csv")).hasSize(1);
        assertThat(logs.matching("HTTP target: PUT")).singleElement().asString().contains("Authorization")
                .contains("X-Tenant-Id");
        assertThat(logs.lines()).noneMatch(l -> l.contains(token)).noneMatch(l -> l.contains("tenant=t1"));
    }

    @Test
    void retriesServerErrorsWithAFreshBodyAndDeliversOnce() throws Exception {
        byte[] body = bytes(200_000, 2);
        objects.put("orders.csv", body, "text/csv");
        try (HttpSink sink = new HttpSink().then(Answer.of(500), new Answer(503, Map.of(), "busy"));
             RelayApp app = RelayApp.start(settings(sink.url("/in/{key}")))) {
            await().atMost(WAIT).until(() -> outcome(app, "orders.csv").isPresent());
            assertThat(outcome(app, "orders.csv")).contains(Outcome.DELIVERED);
            assertThat(sink.received()).hasSize(3).allSatisfy(r -> {
                assertThat(r.method()).isEqualTo("POST");
                assertThat(r.sha256()).isEqualTo(TestObjects.sha256(body));
            });
            // each attempt fetched the object again instead of buffering it
            assertThat(s3.getCount(BUCKET)).isEqualTo(3);
            awaitPolls(3);
            assertThat(sink.received()).hasSize(3);
            assertThat(new FolderDeadLetterStore(work.resolve("state/dead-letters")).list()).isEmpty();
        }
        assertThat(logs.matching("WARN", "attempt 1/5 failed", "orders.csv", "HTTP 500")).hasSize(1);
        assertThat(logs.matching("WARN", "attempt 2/5 failed", "orders.csv", "HTTP 503: busy")).hasSize(1);
        assertThat(logs.matching("delivered", "orders.csv")).hasSize(1);
    }

    @Test
    void waitsAsLongAsRetryAfterSays() throws Exception {
        objects.put("slow.json", "{\"a\":1}".getBytes(StandardCharsets.UTF_8), "application/json");
        try (HttpSink sink = new HttpSink().then(new Answer(429, Map.of("Retry-After", "1"), ""));
             RelayApp app = RelayApp.start(settings(sink.url("/in/{key}")))) {
            await().atMost(WAIT).until(() -> outcome(app, "slow.json").isPresent());
            assertThat(outcome(app, "slow.json")).contains(Outcome.DELIVERED);
            assertThat(sink.received()).hasSize(2);
            long gap = sink.received().get(1).arrivedNanos() - sink.received().get(0).arrivedNanos();
            assertThat(Duration.ofNanos(gap)).isGreaterThanOrEqualTo(Duration.ofSeconds(1));
        }
    }

    @Test
    void deadLettersARefusalAtOnceAndNeverRetriesIt() throws Exception {
        byte[] body = bytes(10_000, 3);
        String etag = objects.put("bad/input.xml", body, "application/xml");
        try (HttpSink sink = new HttpSink().otherwise(new Answer(400, Map.of(), "schema violation\nline 2"));
             RelayApp app = RelayApp.start(settings(sink.url("/in/{key}")))) {
            await().atMost(WAIT).until(() -> outcome(app, "bad/input.xml").isPresent());
            assertThat(outcome(app, "bad/input.xml")).contains(Outcome.DEAD);
            awaitPolls(4);
            assertThat(sink.received()).hasSize(1);
            assertThat(s3.getCount(BUCKET)).isEqualTo(1);

            FolderDeadLetterStore store = new FolderDeadLetterStore(work.resolve("state/dead-letters"));
            Path file = store.fileOf(BUCKET, "bad/input.xml");
            assertThat(file).exists();
            DeadLetter letter = DeadLetter.fromJson(Files.readString(file));
            assertThat(letter.bucket()).isEqualTo(BUCKET);
            assertThat(letter.key()).isEqualTo("bad/input.xml");
            assertThat(letter.etag()).isEqualTo(etag);
            assertThat(letter.size()).isEqualTo(body.length);
            assertThat(letter.target()).isEqualTo(sink.url("/in/bad/input.xml"));
            assertThat(letter.status()).isEqualTo(400);
            assertThat(letter.reason()).isEqualTo("HTTP 400: schema violation");
            assertThat(letter.attempts()).isEqualTo(1);
            assertThat(letter.time()).isNotNull();
            assertThat(Files.readString(file)).contains("\"status\": 400", "\"attempts\": 1");
        }
        assertThat(logs.matching("ERROR", "dead letter", "key=bad/input.xml", "status=400", "attempts=1"))
                .hasSize(1);
        assertThat(logs.matching("WARN", "bad/input.xml", "attempt")).isEmpty();
    }

    @Test
    void deliversOnceWhenTheEndpointComesBack() throws Exception {
        byte[] body = bytes(50_000, 4);
        objects.put("later.bin", body, "application/octet-stream");
        int port = HttpSink.freePort();
        Map<String, String> p = settings("http://127.0.0.1:" + port + "/in/{key}");
        // room for about 20 s of refused connections: the endpoint returns well within that
        p.put("relay.http.max-attempts", "60");
        p.put("relay.http.backoff", "100");
        p.put("relay.http.max-delay", "400");
        try (RelayApp app = RelayApp.start(p)) {
            await().atMost(WAIT).until(() -> !logs.matching("attempt 2/60 failed", "later.bin").isEmpty());
            assertThat(logs.matching("attempt 1/60 failed", "later.bin", "connection refused")).hasSize(1);
            try (HttpSink sink = new HttpSink(port)) {
                await().atMost(WAIT).until(() -> outcome(app, "later.bin").isPresent());
                assertThat(outcome(app, "later.bin")).contains(Outcome.DELIVERED);
                awaitPolls(3);
                assertThat(sink.received()).singleElement()
                        .satisfies(r -> assertThat(r.sha256()).isEqualTo(TestObjects.sha256(body)));
            }
        }
        assertThat(new FolderDeadLetterStore(work.resolve("state/dead-letters")).list()).isEmpty();
    }

    @Test
    void deadLettersWhenTheEndpointStaysDownThroughEveryAttempt() throws Exception {
        objects.put("never.txt", "x".getBytes(StandardCharsets.UTF_8), "text/plain");
        Map<String, String> p = settings("http://127.0.0.1:" + HttpSink.freePort() + "/in/{key}");
        p.put("relay.http.max-attempts", "3");
        try (RelayApp app = RelayApp.start(p)) {
            await().atMost(WAIT).until(() -> outcome(app, "never.txt").isPresent());
            assertThat(outcome(app, "never.txt")).contains(Outcome.DEAD);
            DeadLetter letter = new FolderDeadLetterStore(work.resolve("state/dead-letters")).list().get(0);
            assertThat(letter.key()).isEqualTo("never.txt");
            assertThat(letter.status()).isNull();
            assertThat(letter.attempts()).isEqualTo(3);
            assertThat(letter.reason()).contains("connection refused");
        }
        assertThat(logs.matching("WARN", "failed", "never.txt")).hasSize(2);
        assertThat(logs.matching("ERROR", "dead letter", "never.txt", "attempts=3")).hasSize(1);
    }

    @Test
    void retriesTheVersionItStartedWithAndLeavesAChangedObjectToTheNextPoll() throws Exception {
        byte[] v1 = bytes(20_000, 5);
        byte[] v2 = bytes(30_000, 6);
        String etag1 = objects.put("doc.bin", v1, "application/octet-stream");
        // the object is overwritten while the endpoint fails the first attempt
        try (HttpSink sink = new HttpSink().then(Answer.of(500)).whenReceived(r -> {
                if (r.header("R2RelayETag").equals(etag1)) {
                    objects.put("doc.bin", v2, "application/octet-stream");
                }
            });
             RelayApp app = RelayApp.start(settings(sink.url("/in/{key}")))) {
            String etag2 = TestObjects.md5(v2);
            await().atMost(WAIT).until(() -> app.ledger().entry(BUCKET, "doc.bin")
                    .filter(e -> e.etag().equals(etag2)).isPresent());
            assertThat(outcome(app, "doc.bin")).contains(Outcome.DELIVERED);
            awaitPolls(2);
            // the retry's If-Match GET found a new version and stopped; the next poll sent that one
            assertThat(sink.received()).extracting(Received::sha256)
                    .containsExactly(TestObjects.sha256(v1), TestObjects.sha256(v2));
            assertThat(sink.received().get(1).header("R2RelayETag")).isEqualTo(etag2);
            assertThat(new FolderDeadLetterStore(work.resolve("state/dead-letters")).list()).isEmpty();
        }
        assertThat(logs.matching("WARN", "not delivered", "doc.bin", "412")).hasSize(1);
    }

    @Test
    void givesUpOnAnEndpointThatTakesTheBodyButNeverAnswers() throws Exception {
        objects.put("hang.txt", "waiting".getBytes(StandardCharsets.UTF_8), "text/plain");
        try (HttpSink sink = new HttpSink().otherwise(Answer.none())) {
            Map<String, String> p = settings(sink.url("/in/{key}"));
            p.put("relay.http.timeout", "1500");
            p.put("relay.http.max-attempts", "2");
            try (RelayApp app = RelayApp.start(p)) {
                await().atMost(WAIT).until(() -> outcome(app, "hang.txt").isPresent());
                assertThat(outcome(app, "hang.txt")).contains(Outcome.DEAD);
                // (a busy machine may cut the second attempt before the sink records it)
                assertThat(sink.received()).isNotEmpty();
                DeadLetter letter = new FolderDeadLetterStore(work.resolve("state/dead-letters")).list().get(0);
                assertThat(letter.status()).isNull();
                assertThat(letter.attempts()).isEqualTo(2);
                assertThat(letter.reason()).startsWith("no progress for 1500 ms (relay.http.timeout)");
            }
        }
    }
}
