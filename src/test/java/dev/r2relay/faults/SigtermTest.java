package dev.r2relay.faults;

import static dev.r2relay.support.FaultProxy.getOf;
import static org.assertj.core.api.Assertions.assertThat;

import dev.r2relay.state.DeliveryLedger;
import dev.r2relay.support.FaultProxy;
import dev.r2relay.support.FaultProxy.Fault;
import dev.r2relay.support.HttpSink;
import dev.r2relay.support.RelayProcess;
import dev.r2relay.support.RelayProcess.Result;
import dev.r2relay.support.S3Clients;
import dev.r2relay.support.S3ProxyServer;
import dev.r2relay.support.TestObjects;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * SIGTERM, as a service manager sends it, while a delivery is in flight (held mid-body by
 * {@link FaultProxy}): the delivery finishes if it can within {@code camel.main.shutdown-timeout},
 * else it is abandoned cleanly (no temporary file, nothing recorded); either way the process exits
 * 0, and what was abandoned is delivered at the next start.
 */
class SigtermTest {

    private static final Duration LIMIT = Duration.ofSeconds(90);
    private static final int KIB = 1024;
    /** The longest a stop may take beyond the shutdown timeout the test sets. */
    private static final long STOP_BOUND_MS = 10_000;
    private static S3ProxyServer server;
    private static S3Client s3;

    @TempDir
    Path work;
    private FaultProxy proxy;
    private String bucket;

    @BeforeAll
    static void startServer() {
        server = new S3ProxyServer();
        s3 = S3Clients.of(server);
    }

    @AfterAll
    static void stopServer() {
        s3.close();
        server.close();
    }

    @BeforeEach
    void startProxy() throws IOException {
        bucket = "sigterm-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 30), 36);
        server.createBucket(bucket);
        proxy = new FaultProxy(server.endpoint());
        RelayProcess.copyShippedRoutes(work.resolve("routes"));
    }

    @AfterEach
    void stopProxy() {
        proxy.close();
    }

    private Map<String, String> env(String shutdownTimeoutSeconds) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("R2_ENDPOINT", proxy.endpoint().toString());
        env.put("R2_ACCESS_KEY", S3ProxyServer.ACCESS_KEY);
        env.put("R2_SECRET_KEY", S3ProxyServer.SECRET_KEY);
        env.put("R2_BUCKET", bucket);
        env.put("RELAY_INBOX", work.resolve("inbox").toString());
        env.put("RELAY_STATE", work.resolve("state").toString());
        env.put("RELAY_POLL_INTERVAL", "200");
        env.put("CAMEL_MAIN_SHUTDOWNTIMEOUT", shutdownTimeoutSeconds);
        env.put("CAMEL_MAIN_DURATIONMAXSECONDS", "80");
        return env;
    }

    @Test
    void aDeliveryThatEndsWithinTheShutdownTimeoutIsFinishedAndRecordedThenTheProcessExitsZero()
            throws Exception {
        byte[] data = put("finishing.bin", 300 * KIB, 1);
        proxy.inject(getOf("finishing.bin"), 1, Fault.pauseAfter(100 * KIB, Duration.ofSeconds(3)));

        Result r;
        long stopMs;
        try (RelayProcess app = RelayProcess.in(work).env(env("20")).start("run")) {
            app.awaitWhileAlive("the GET is under way", LIMIT, () -> !proxy.served(getOf("finishing.bin")).isEmpty());
            long asked = System.nanoTime();
            r = app.stop(LIMIT);
            stopMs = (System.nanoTime() - asked) / 1_000_000;
        }
        assertThat(stopMs).as("ms to stop: %s", r).isLessThan(STOP_BOUND_MS);

        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.stderr()).contains("delivered bucket=" + bucket + " key=finishing.bin");
        assertThat(work.resolve("inbox/finishing.bin")).hasBinaryContent(data);
        assertThat(recordedEtag("finishing.bin")).isNotNull();
        assertThat(temporaryFiles()).isEmpty();
    }

    @Test
    void aDeliveryStalledPastTheShutdownTimeoutIsAbandonedCleanlyAndDeliveredAtTheNextStart() throws Exception {
        byte[] data = put("stalled.bin", 300 * KIB, 2);
        proxy.inject(getOf("stalled.bin"), 1, Fault.stallAfter(100 * KIB));
        Map<String, String> env = env("2");
        // the S3 client alone would wait a minute before it calls the body broken
        env.put("R2_READ_TIMEOUT", "60000");

        Result r;
        long stopMs;
        try (RelayProcess app = RelayProcess.in(work).env(env).start("run")) {
            app.awaitWhileAlive("the body stalls", LIMIT, () -> proxy.stalledNow() == 1);
            long asked = System.nanoTime();
            r = app.stop(LIMIT);
            stopMs = (System.nanoTime() - asked) / 1_000_000;
        }
        assertThat(stopMs).as("ms to stop: %s", r).isLessThan(STOP_BOUND_MS);

        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.stderr()).doesNotContain("d.r.delivered - delivered bucket=" + bucket + " key=stalled.bin")
                .contains("1 transfer(s) still under way after camel.main.shutdown-timeout (2000 ms) are abandoned")
                .contains("not delivered bucket=" + bucket + " key=stalled.bin: the transfer of 'stalled.bin' was"
                        + " abandoned after 102400 bytes");
        assertThat(work.resolve("inbox/stalled.bin")).doesNotExist();
        assertThat(temporaryFiles()).as("temporary files after the stop").isEmpty();
        assertThat(recordedEtag("stalled.bin")).as("recorded after an abandoned delivery").isNull();

        try (RelayProcess app = RelayProcess.in(work).env(env).start("run")) {
            // its line comes once the file is in place and recorded (a stop between the two would
            // abandon the record under load, and the start after it would deliver the file again)
            app.awaitWhileAlive("delivery at the next start", LIMIT, () -> app.stderrSoFar()
                    .contains("d.r.delivered - delivered bucket=" + bucket + " key=stalled.bin"));
            Result second = app.stop(LIMIT);
            assertThat(second.exitCode()).as(second.toString()).isZero();
        }
        assertThat(work.resolve("inbox/stalled.bin")).hasBinaryContent(data);
        assertThat(recordedEtag("stalled.bin")).isNotNull();
    }

    @Test
    void anHttpRequestWhoseAnswerNeverComesIsAbandonedAtTheShutdownTimeoutNotDeadLettered() throws Exception {
        byte[] data = put("unanswered.bin", 20 * KIB, 3);
        Map<String, String> env = env("2");
        Result r;
        long stopMs;
        try (HttpSink sink = new HttpSink()) {
            sink.otherwise(HttpSink.Answer.none());
            env.put("RELAY_TARGET", "http");
            env.put("RELAY_HTTP_URL", sink.url("/in/{key}"));
            try (RelayProcess app = RelayProcess.in(work).env(env).start("run")) {
                app.awaitWhileAlive("the endpoint holds the request", LIMIT, () -> sink.received().size() == 1);
                long asked = System.nanoTime();
                r = app.stop(LIMIT);
                stopMs = (System.nanoTime() - asked) / 1_000_000;
            }
            assertThat(sink.received()).singleElement().satisfies(req ->
                    assertThat(req.sha256()).isEqualTo(TestObjects.sha256(data)));
        }
        assertThat(stopMs).as("ms to stop: %s", r).isLessThan(STOP_BOUND_MS);
        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.stderr()).contains("not delivered bucket=" + bucket + " key=unanswered.bin: the delivery of"
                + " 'unanswered.bin' to the HTTP endpoint was abandoned").doesNotContain("dead letter bucket=");
        assertThat(recordedEtag("unanswered.bin")).as("recorded after an abandoned delivery").isNull();
        Path deadLetters = work.resolve("state/dead-letters");
        if (Files.exists(deadLetters)) {
            assertThat(deadLetters).as("dead letters").isEmptyDirectory();
        }
    }


    private String recordedEtag(String key) {
        try (DeliveryLedger ledger = DeliveryLedger.open(work.resolve("state").toString())) {
            return ledger.recordedEtag(bucket, key);
        }
    }

    private byte[] put(String key, int size, long seed) {
        byte[] data = FaultInjectionTest.random(size, seed);
        s3.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromBytes(data));
        return data;
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
