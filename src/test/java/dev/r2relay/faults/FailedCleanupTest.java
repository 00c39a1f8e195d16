package dev.r2relay.faults;

import static dev.r2relay.support.FaultProxy.copyTo;
import static dev.r2relay.support.FaultProxy.deleteOf;
import static dev.r2relay.support.FaultProxy.getOf;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.state.DeliveryLedger.Outcome;
import dev.r2relay.support.FaultProxy;
import dev.r2relay.support.FaultProxy.Fault;
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
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A delete or move after delivery that the server refuses (403 AccessDenied, injected by
 * {@link FaultProxy}) is reported with one WARN, and the object, recorded, is neither fetched
 * nor delivered again at later polls.
 */
class FailedCleanupTest {

    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String KEY = "incoming/report.bin";
    @RegisterExtension
    static final ProxiedS3 S3 = new ProxiedS3("cleanup");

    @TempDir(factory = RamTempDirs.class)
    Path work;

    @Test
    void aRefusedDeleteIsReportedOnceAndTheObjectIsNotDeliveredAgain() throws Exception {
        byte[] body = put(KEY, 1);
        S3.proxy().injectAlways(r -> r.method().equals("DELETE"), Fault.accessDenied());

        try (LogCapture logs = LogCapture.open();
             RelayApp app = RelayApp.start(settings("relay.after-delivery", "delete"))) {
            assertReportedOnceAndDeliveredOnce(app, logs, body);
            assertThat(S3.proxy().served(deleteOf(KEY))).as("DELETEs of %s", KEY).hasSize(1);
        }

        assertThat(keys()).containsExactly(KEY);
    }

    @Test
    void aRefusedCopyOfAMoveIsReportedOnceAndLeavesTheObjectWhereItWas() throws Exception {
        byte[] body = put(KEY, 2);
        S3.proxy().injectAlways(copyTo("archived/" + KEY), Fault.accessDenied());

        try (LogCapture logs = LogCapture.open();
             RelayApp app = RelayApp.start(moveSettings())) {
            assertReportedOnceAndDeliveredOnce(app, logs, body);
            assertThat(S3.proxy().served(copyTo("archived/" + KEY))).as("COPYs").hasSize(1);
            assertThat(S3.proxy().served(deleteOf(KEY))).as("DELETEs after a failed copy").isEmpty();
        }

        assertThat(keys()).containsExactly(KEY);
    }

    /** The copy stays at the destination: the object is in both places, and delivered once. */
    @Test
    void aRefusedDeleteOfAMoveIsReportedOnceAndLeavesTheObjectInBothPlaces() throws Exception {
        byte[] body = put(KEY, 3);
        S3.proxy().injectAlways(deleteOf(KEY), Fault.accessDenied());

        try (LogCapture logs = LogCapture.open();
             RelayApp app = RelayApp.start(moveSettings())) {
            assertReportedOnceAndDeliveredOnce(app, logs, body);
            assertThat(S3.proxy().served(copyTo("archived/" + KEY))).as("COPYs").hasSize(1);
            assertThat(S3.proxy().served(deleteOf(KEY))).as("DELETEs").hasSize(1);
        }

        assertThat(keys()).containsExactly("archived/" + KEY, KEY);
        assertThat(S3.s3().getObjectAsBytes(b -> b.bucket(S3.bucket()).key("archived/" + KEY)).asByteArray())
                .isEqualTo(body);
    }

    /**
     * One WARN naming the key and the failed clean-up, one delivery line, one GET, the file
     * byte-identical and untouched, the ledger entry present, over two more polls.
     */
    private void assertReportedOnceAndDeliveredOnce(RelayApp app, LogCapture logs, byte[] body)
            throws Exception {
        String warn = "delivered but not cleaned up bucket=" + S3.bucket() + " key=" + KEY + ":";
        await("the clean-up failure report").atMost(WAIT).until(() -> !logs.matching("WARN", warn).isEmpty());
        assertThat(app.ledger().entry(S3.bucket(), KEY)).hasValueSatisfying(e ->
                assertThat(e.outcome()).isEqualTo(Outcome.DELIVERED));
        Path file = work.resolve("inbox").resolve(KEY);
        assertThat(TestObjects.sha256(Files.readAllBytes(file))).isEqualTo(TestObjects.sha256(body));
        String identity = identity(file);

        long polls = app.completedPolls() + 2;
        await("two more polls").atMost(WAIT).until(() -> app.completedPolls() >= polls);

        assertThat(logs.matching("WARN", warn)).as("clean-up failure reports").hasSize(1)
                .allSatisfy(line -> assertThat(line).contains("AccessDenied"));
        assertThat(logs.matching("INFO", "delivered bucket=" + S3.bucket() + " key=" + KEY + " "))
                .as("delivery lines").hasSize(1);
        assertThat(S3.proxy().served(getOf(KEY))).as("GETs of %s", KEY).hasSize(1);
        assertThat(identity(file)).as("the delivered file, not written again").isEqualTo(identity);
        assertThat(app.ledger().count()).isEqualTo(1);
        assertThat(metric(app, "r2relay_cleanup_failures_total")).isEqualTo(1);
    }

    private Map<String, String> settings(String... extra) {
        Map<String, String> p = S3.settings(work);
        p.put("r2.prefix", "incoming/");
        for (int i = 0; i < extra.length; i += 2) {
            p.put(extra[i], extra[i + 1]);
        }
        return p;
    }

    private Map<String, String> moveSettings() {
        return settings("relay.after-delivery", "move", "relay.move-prefix", "archived/");
    }

    private byte[] put(String key, long seed) {
        byte[] data = FaultInjectionTest.random(64 * 1024, seed);
        S3.s3().putObject(b -> b.bucket(S3.bucket()).key(key), RequestBody.fromBytes(data));
        return data;
    }

    private List<String> keys() {
        return S3.s3().listObjectsV2Paginator(b -> b.bucket(S3.bucket())).contents().stream().map(S3Object::key)
                .toList();
    }

    /** Inode, modification time and size: a rewrite changes one of them. */
    private static String identity(Path file) throws IOException {
        BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
        return a.fileKey() + " " + a.lastModifiedTime().toInstant() + " " + a.size();
    }

    private static double metric(RelayApp app, String name) {
        PrometheusMeterRegistry registry = app.camel().getRegistry()
                .lookupByNameAndType("metricsRegistry", PrometheusMeterRegistry.class);
        return RelayHttp.value(registry.scrape(), name);
    }
}
