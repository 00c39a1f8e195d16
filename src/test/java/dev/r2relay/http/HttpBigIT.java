package dev.r2relay.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.local.EmbeddedR2;
import dev.r2relay.state.DeliveryLedger;
import dev.r2relay.support.HttpSink;
import dev.r2relay.support.RelayApp;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 1 GiB object through the HTTP target in a JVM limited to 128 MiB of heap (the -Pbig profile
 * runs this with -Xmx128m): the store (S3Proxy over a folder), the application and the receiving
 * server all live in this JVM, so the object cannot have been held in memory anywhere. Prints the
 * peak heap and the peak resident set size, and writes them to target/http-big-it.txt.
 */
class HttpBigIT {

    private static final long SIZE = 1L << 30;
    private static final String BUCKET = "big-bucket";

    @TempDir
    Path work;

    @Test
    void streamsAGibibyteUnderA128MebibyteHeap() throws Exception {
        assertThat(Runtime.getRuntime().maxMemory()).as("run with -Pbig, which sets -Xmx128m")
                .isLessThanOrEqualTo(128L << 20);
        Path source = Files.createDirectories(work.resolve("source"));
        String sha256 = writeObject(source.resolve("big.bin"));

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

            resetPeaks();
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
                String report = String.format("HttpBigIT: 1 GiB delivered %d s after the application started; -Xmx %d MiB; peak heap used %d MiB;"
                                + " peak RSS (VmHWM) %s", seconds, Runtime.getRuntime().maxMemory() >> 20,
                        peakHeap() >> 20, peakRss());
                System.out.println(report);
                Files.writeString(Path.of("target", "http-big-it.txt"), report + "\n");
            }
        }
    }

    /** Deterministic, incompressible bytes; returns their SHA-256. */
    private static String writeObject(Path file) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        byte[] block = new byte[1 << 20];
        new Random(7).nextBytes(block);
        try (OutputStream out = Files.newOutputStream(file)) {
            for (long i = 0; i < SIZE / block.length; i++) {
                block[0] = (byte) i;
                block[1] = (byte) (i >> 8);
                sha.update(block);
                out.write(block);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static void resetPeaks() {
        System.gc();
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            pool.resetPeakUsage();
        }
    }

    /** The sum of the heap pools' peaks: an upper bound of the heap in use at any one time. */
    private static long peakHeap() {
        long peak = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) {
                peak += pool.getPeakUsage().getUsed();
            }
        }
        return peak;
    }

    private static String peakRss() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("VmHWM"))
                    .map(l -> l.substring(6).trim()).findFirst().orElse("unknown");
        } catch (Exception e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }
}
