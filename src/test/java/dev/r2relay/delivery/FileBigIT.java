package dev.r2relay.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.local.EmbeddedR2;
import dev.r2relay.state.DeliveryLedger;
import dev.r2relay.support.BigObjects;
import dev.r2relay.support.RelayApp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A large object (4 GiB unless -Drelay.big.mib says otherwise) into the inbox, fetched as parallel
 * ranges, in a JVM limited to 128 MiB of heap (the -Pbig profile): the store and the application
 * share the JVM, so the object cannot have been held in memory. Writes its figures to
 * target/file-big-it.txt.
 */
class FileBigIT {

    private static final long SIZE = BigObjects.size();
    private static final String BUCKET = "big-file-bucket";

    @TempDir
    Path work;

    @Test
    void landsALargeObjectUnderA128MebibyteHeap() throws Exception {
        assertThat(Runtime.getRuntime().maxMemory()).as("run with -Pbig, which sets -Xmx128m")
                .isLessThanOrEqualTo(128L << 20);
        Path source = Files.createDirectories(work.resolve("source"));
        String sha256 = BigObjects.write(source.resolve("big.bin"), SIZE);
        try (EmbeddedR2 store = EmbeddedR2.onFolder(work.resolve("store"), 0, EmbeddedR2.ACCESS_KEY,
                EmbeddedR2.SECRET_KEY)) {
            store.seed(BUCKET, source);
            Files.delete(source.resolve("big.bin"));
            Map<String, String> p = new LinkedHashMap<>();
            p.put("r2.endpoint", store.endpoint().toString());
            p.put("r2.access-key", EmbeddedR2.ACCESS_KEY);
            p.put("r2.secret-key", EmbeddedR2.SECRET_KEY);
            p.put("r2.bucket", BUCKET);
            p.put("relay.inbox", work.resolve("inbox").toString());
            p.put("relay.state", work.resolve("state").toString());
            p.put("relay.poll-interval", "1000");
            BigObjects.resetPeaks();
            long started = System.nanoTime();
            try (RelayApp app = RelayApp.start(p)) {
                await().atMost(Duration.ofMinutes(20)).pollInterval(Duration.ofSeconds(1))
                        .until(() -> app.ledger().entry(BUCKET, "big.bin").isPresent());
                long seconds = Duration.ofNanos(System.nanoTime() - started).toSeconds();
                assertThat(app.ledger().entry(BUCKET, "big.bin").orElseThrow().outcome())
                        .isEqualTo(DeliveryLedger.Outcome.DELIVERED);
                BigObjects.report("file-big-it", "FileBigIT", SIZE, seconds);
            }
        }
        Path delivered = work.resolve("inbox/big.bin");
        assertThat(Files.size(delivered)).isEqualTo(SIZE);
        assertThat(BigObjects.sha256(delivered)).isEqualTo(sha256);
    }
}
