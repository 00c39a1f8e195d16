package dev.r2relay.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.local.EmbeddedR2;
import dev.r2relay.state.DeliveryLedger;
import dev.r2relay.support.BigObjects;
import dev.r2relay.support.HttpSink;
import dev.r2relay.support.RelayApp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A large object (4 GiB unless -Drelay.big.mib says otherwise) through the HTTP target in a JVM
 * limited to 128 MiB of heap (the -Pbig profile runs this with -Xmx128m): the store (S3Proxy over a
 * folder), the application and the receiving server all live in this JVM, so the object cannot
 * have been held in memory anywhere. Prints the peak heap and the peak resident set size, and
 * writes them to target/http-big-it.txt.
 */
class HttpBigIT {

    private static final long SIZE = BigObjects.size();
    private static final String BUCKET = "big-bucket";

    @TempDir
    Path work;

    @Test
    void streamsAGibibyteUnderA128MebibyteHeap() throws Exception {
        assertThat(Runtime.getRuntime().maxMemory()).as("run with -Pbig, which sets -Xmx128m")
                .isLessThanOrEqualTo(128L << 20);
        Path source = Files.createDirectories(work.resolve("source"));
        String sha256 = BigObjects.write(source.resolve("big.bin"), SIZE);

        try (EmbeddedR2 store = EmbeddedR2.onFolder(work.resolve("store"), 0, EmbeddedR2.ACCESS_KEY,
                EmbeddedR2.SECRET_KEY); HttpSink sink = new HttpSink()) {
            store.seed(BUCKET, source);
            Files.delete(source.resolve("big.bin"));
            Map<String, String> p = new LinkedHashMap<>();
            p.put("r2.endpoint", store.endpoint().toString());
            p.put("r2.access-key", EmbeddedR2.ACCESS_KEY);
            p.put("r2.secret-key", EmbeddedR2.SECRET_KEY);
            p.put("r2.region", "auto");
            p.put("r2.bucket", BUCKET);
            p.put("relay.inbox", work.resolve("inbox").toString());
            p.put("relay.state", work.resolve("state").toString());
            p.put("relay.poll-interval", "1000");
            p.put("relay.target", "http");
            p.put("relay.http.url", sink.url("/big/{key}"));
            p.put("relay.http.max-attempts", "1");
            p.put("relay.http.timeout", "120000");

            BigObjects.resetPeaks();
            long started = System.nanoTime();
            try (RelayApp app = RelayApp.start(p)) {
                await().atMost(Duration.ofMinutes(15)).pollInterval(Duration.ofSeconds(1))
                        .until(() -> app.ledger().entry(BUCKET, "big.bin").isPresent());
                long seconds = Duration.ofNanos(System.nanoTime() - started).toSeconds();
                assertThat(app.ledger().entry(BUCKET, "big.bin").orElseThrow().outcome())
                        .isEqualTo(DeliveryLedger.Outcome.DELIVERED);
                assertThat(sink.received()).singleElement().satisfies(r -> {
                    assertThat(r.size()).isEqualTo(SIZE);
                    assertThat(r.sha256()).isEqualTo(sha256);
                    assertThat(r.header("Content-Length")).isEqualTo(Long.toString(SIZE));
                    assertThat(r.header("Transfer-Encoding")).isNull();
                });
                BigObjects.report("http-big-it", "HttpBigIT", SIZE, seconds);
            }
        }
    }
}
