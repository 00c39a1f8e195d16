package dev.r2relay.faults;

import static dev.r2relay.support.FaultProxy.getOf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.metrics.RelayMetrics;
import dev.r2relay.support.FaultProxy;
import dev.r2relay.support.FaultProxy.Fault;
import dev.r2relay.support.InboxWatcher;
import dev.r2relay.support.LogCapture;
import dev.r2relay.support.ProxiedS3;
import dev.r2relay.support.RamTempDirs;
import dev.r2relay.support.RelayApp;
import dev.r2relay.support.RelayHttp;
import dev.r2relay.support.TestObjects;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * Objects that change in the bucket while r2-relay handles them, at the exact moment a test
 * chooses (through {@link FaultProxy}): deleted between the listing and the GET, overwritten
 * between the listing and the GET, overwritten while their bytes are on the way. What must hold:
 * a vanished object is skipped with one line; the version delivered is a whole one, the newest;
 * the ledger holds that version's ETag; no other bytes ever show under the final name.
 */
class ObjectsChangingTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final int KIB = 1024;
    @RegisterExtension
    static final ProxiedS3 S3 = new ProxiedS3("changing");

    @TempDir(factory = RamTempDirs.class)
    Path work;
    private RelayApp app;

    @AfterEach
    void stop() throws Exception {
        if (app != null) {
            app.close();
        }
        assertThat(temporaryFiles()).as("temporary files left in the inbox").isEmpty();
    }

    private Map<String, String> settings() {
        Map<String, String> p = S3.settings(work);
        p.put("r2.read-timeout", "3000");
        p.put("r2.max-attempts", "3");
        return p;
    }

    @Test
    void anObjectDeletedBetweenTheListingAndTheGetIsSkippedWithOneLine() throws Exception {
        byte[] stays = put("stays.txt", 2 * KIB, 1);
        put("gone.txt", 2 * KIB, 2);
        S3.proxy().inject(getOf("gone.txt"), 1, Fault.before("delete gone.txt",
                r -> S3.s3().deleteObject(b -> b.bucket(S3.bucket()).key("gone.txt"))));

        try (LogCapture logs = LogCapture.open()) {
            app = RelayApp.start(settings());
            await().atMost(WAIT).until(() -> app.ledger().recordedEtag(S3.bucket(), "stays.txt") != null);
            await().atMost(WAIT).until(() -> !S3.proxy().served(getOf("gone.txt")).isEmpty());
            awaitPolls(3);

            assertThat(logs.matching("gone.txt")).as("lines naming gone.txt").singleElement().satisfies(line ->
                    assertThat(line).startsWith("WARN").contains("skipped bucket=" + S3.bucket() + " key=gone.txt")
                            .contains("deleted after it was listed").contains("404"));
        }
        assertThat(S3.proxy().served(getOf("gone.txt"))).as("one GET, answered 404").hasSize(1);
        assertThat(app.ledger().entry(S3.bucket(), "gone.txt")).isEmpty();
        assertThat(work.resolve("inbox/gone.txt")).doesNotExist();
        assertThat(work.resolve("inbox/stays.txt")).hasBinaryContent(stays);
        RelayMetrics metrics = app.camel().getRegistry().lookupByNameAndType("relayMetrics", RelayMetrics.class);
        assertThat(metrics.notDelivered()).as("a vanished object is not a failed delivery (run --once exits 0)")
                .isZero();
        assertThat(metric("r2relay_failed_deliveries_total", "source=\"poll\"")).isZero();
    }

    @Test
    void anObjectOverwrittenBetweenTheListingAndTheGetIsDeliveredAsTheNewVersionOnce() throws Exception {
        byte[] first = put("doc.bin", 40 * KIB, 3);
        byte[] second = FaultInjectionTest.random(50 * KIB, 4);
        S3.proxy().inject(getOf("doc.bin"), 1, Fault.before("overwrite doc.bin", r -> put("doc.bin", second)));

        try (InboxWatcher inbox = InboxWatcher.start(work.resolve("inbox"),
                key -> Set.of(TestObjects.sha256(second)));
             LogCapture logs = LogCapture.open()) {
            app = RelayApp.start(settings());
            await().atMost(WAIT).until(() -> app.ledger().recordedEtag(S3.bucket(), "doc.bin") != null);
            awaitPolls(3);

            assertThat(inbox.violations()).isEmpty();
            assertThat(inbox.seen()).containsKey("doc.bin");
            assertThat(logs.matching("INFO", "delivered bucket=" + S3.bucket() + " key=doc.bin ")).hasSize(1);
        }
        assertThat(work.resolve("inbox/doc.bin")).hasBinaryContent(second);
        assertThat(app.ledger().recordedEtag(S3.bucket(), "doc.bin")).isEqualTo(TestObjects.md5(second))
                .isNotEqualTo(TestObjects.md5(first));
        assertThat(S3.proxy().served(getOf("doc.bin"))).as("one GET, of the new version").hasSize(1);
    }

    @Test
    void anObjectOverwrittenWhileItsBytesFlowIsNeverHalfWrittenAndItsNewVersionFollows() throws Exception {
        put("flow.bin", 300 * KIB, 5);
        byte[] second = FaultInjectionTest.random(200 * KIB, 6);
        // half of the old version arrives, then the object changes and the connection breaks
        S3.proxy().inject(getOf("flow.bin"), 1, Fault.resetAfter(150 * KIB)
                .then("overwrite flow.bin", r -> put("flow.bin", second)));

        try (InboxWatcher inbox = InboxWatcher.start(work.resolve("inbox"),
                key -> Set.of(TestObjects.sha256(second)));
             LogCapture logs = LogCapture.open()) {
            app = RelayApp.start(settings());
            await().atMost(WAIT).until(() -> TestObjects.md5(second).equals(
                    app.ledger().recordedEtag(S3.bucket(), "flow.bin")));
            awaitPolls(2);

            assertThat(inbox.violations()).isEmpty();
            assertThat(logs.matching("WARN", "not delivered", "key=flow.bin", "changed while it was being fetched"))
                    .hasSize(1);
            assertThat(logs.matching("INFO", "delivered bucket=" + S3.bucket() + " key=flow.bin ")).hasSize(1);
        }
        assertThat(work.resolve("inbox/flow.bin")).hasBinaryContent(second);
        // the old version's GET, its resume (refused: 412), the new version's GET
        assertThat(S3.proxy().served(getOf("flow.bin"))).hasSize(3);
    }

    @Test
    void aLargeObjectOverwrittenMidDownloadLeavesNoPartsBehindAndItsNewVersionFollows() throws Exception {
        int part = 128 * KIB;
        put("big.bin", 10 * part, 7);
        byte[] second = FaultInjectionTest.random(12 * part + 5, 8);
        S3.proxy().inject(r -> getOf("big.bin").test(r)
                        && ("bytes=" + 3 * part + "-" + (4 * part - 1)).equals(r.range()),
                1, Fault.resetAfter(KIB).then("overwrite big.bin", r -> put("big.bin", second)));
        Map<String, String> settings = settings();
        settings.put("relay.multipart-threshold", Integer.toString(4 * part));
        settings.put("relay.part-size", Integer.toString(part));
        settings.put("relay.part-concurrency", "1");

        try (InboxWatcher inbox = InboxWatcher.start(work.resolve("inbox"),
                key -> Set.of(TestObjects.sha256(second)))) {
            app = RelayApp.start(settings);
            await().atMost(WAIT).until(() -> TestObjects.md5(second).equals(
                    app.ledger().recordedEtag(S3.bucket(), "big.bin")));
            assertThat(inbox.violations()).isEmpty();
        }
        assertThat(work.resolve("inbox/big.bin")).hasBinaryContent(second);
    }

    // --- helpers ------------------------------------------------------------------------------

    private void awaitPolls(int more) {
        long target = app.completedPolls() + more;
        await().atMost(WAIT).until(() -> app.completedPolls() >= target);
    }

    private double metric(String name, String... labels) {
        PrometheusMeterRegistry registry = app.camel().getRegistry()
                .lookupByNameAndType("metricsRegistry", PrometheusMeterRegistry.class);
        return RelayHttp.value(registry.scrape(), name, labels);
    }

    private byte[] put(String key, int size, long seed) {
        byte[] data = FaultInjectionTest.random(size, seed);
        put(key, data);
        return data;
    }

    private void put(String key, byte[] data) {
        S3.s3().putObject(b -> b.bucket(S3.bucket()).key(key), RequestBody.fromBytes(data));
    }

    private List<Path> temporaryFiles() throws IOException {
        Path inbox = work.resolve("inbox");
        if (!Files.isDirectory(inbox)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(inbox)) {
            return files.filter(p -> p.getFileName().toString().contains(".r2relay-")).toList();
        }
    }
}
