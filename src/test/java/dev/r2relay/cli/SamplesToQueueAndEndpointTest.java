package dev.r2relay.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.support.HttpSink;
import dev.r2relay.support.RelayProcess;
import dev.r2relay.support.TestObjects;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The issue's "done when", as a user does it: the main command in a child JVM, configured by
 * environment variables only, over the embedded stand-in seeded from samples/, checked with the
 * separate JMS client of tools/JmsClient.java and a real HTTP server.
 */
class SamplesToQueueAndEndpointTest {

    private static final Duration LIMIT = Duration.ofSeconds(90);
    /** The stand-in's bucket when none is configured. */
    private static final String BUCKET = "r2-relay-local";

    @TempDir
    Path work;

    /** Every file of samples/ by key, with the SHA-256 of its bytes. */
    private static Map<String, String> samples() throws IOException {
        Path root = Path.of("samples").toAbsolutePath();
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(Files::isRegularFile).collect(Collectors.toMap(
                    p -> root.relativize(p).toString().replace(File.separatorChar, '/'),
                    p -> {
                        try {
                            return TestObjects.sha256(Files.readAllBytes(p));
                        } catch (IOException e) {
                            throw new IllegalStateException(e);
                        }
                    }, (a, b) -> a, TreeMap::new));
        }
    }

    private RelayProcess.Builder relay(int standInPort) throws IOException {
        RelayProcess.copyShippedRoutes(work.resolve("routes"));
        return RelayProcess.in(work)
                .env("RELAY_EMBEDDED_PORT", Integer.toString(standInPort))
                .env("RELAY_EMBEDDED_SAMPLES", Path.of("samples").toAbsolutePath().toString())
                .env("RELAY_POLL_INTERVAL", "500");
    }

    @Test
    void theSamplesReachTheEmbeddedBrokersQueue() throws Exception {
        int broker = HttpSink.freePort();
        try (RelayProcess app = relay(HttpSink.freePort())
                .env("RELAY_TARGET", "jms")
                .env("RELAY_JMS_PORT", Integer.toString(broker))
                .start()) {
            awaitStarted(app);
            Map<String, String> expected = samples();
            JmsClientRun received = jmsClient(broker, "receive", "r2.objects", Integer.toString(expected.size()));
            assertThat(received.exitCode()).as(received.output() + app.stderrSoFar()).isZero();
            Map<String, String> arrived = new TreeMap<>();
            for (String line : received.output().lines().filter(l -> l.contains(" sha256=")).toList()) {
                arrived.put(line.substring(0, line.indexOf(' ')),
                        line.replaceAll(".* sha256=([0-9a-f]{64}).*", "$1"));
            }
            assertThat(arrived).isEqualTo(expected);
            assertThat(received.output()).contains("claimCheck=false").doesNotContain("claimCheck=true");
        }
    }

    @Test
    void aMessageOnTheTriggerQueueFetchesTheObjectItNames() throws Exception {
        int broker = HttpSink.freePort();
        try (RelayProcess app = relay(HttpSink.freePort())
                .env("RELAY_POLL_ENABLED", "false")
                .env("RELAY_TRIGGER_QUEUE_ENABLED", "true")
                .env("RELAY_JMS_PORT", Integer.toString(broker))
                .start()) {
            awaitStarted(app);
            JmsClientRun sent = jmsClient(broker, "send", "r2.fetch-requests", "2024/08/02/orders.csv");
            assertThat(sent.exitCode()).as(sent.output()).isZero();
            Path file = work.resolve("inbox/2024/08/02/orders.csv");
            await().atMost(LIMIT).until(() -> Files.exists(file));
            assertThat(file).hasSameBinaryContentAs(Path.of("samples/2024/08/02/orders.csv"));
            try (Stream<Path> inbox = Files.walk(work.resolve("inbox"))) {
                assertThat(inbox.filter(Files::isRegularFile)).as("only the named object").hasSize(1);
            }
        }
    }

    private static void awaitStarted(RelayProcess app) {
        await().atMost(LIMIT).until(() -> {
            assertThat(app.isAlive()).as(app::stderrSoFar).isTrue();
            return app.stderrSoFar().contains("(r2-relay) started in");
        });
    }

    @Test
    void theSamplesReachAnHttpEndpoint() throws Exception {
        Map<String, String> expected = samples();
        try (HttpSink sink = new HttpSink().otherwise(HttpSink.Answer.of(204));
             RelayProcess app = relay(HttpSink.freePort())
                     .env("RELAY_TARGET", "http")
                     .env("RELAY_HTTP_URL", sink.url("/r2/{key}"))
                     .env("RELAY_HTTP_METHOD", "PUT")
                     .start()) {
            await().atMost(LIMIT).until(() -> {
                assertThat(app.isAlive()).as(app::stderrSoFar).isTrue();
                return sink.received().size() >= expected.size();
            });
            Map<String, String> arrived = new TreeMap<>();
            for (HttpSink.Received r : sink.received()) {
                assertThat(r.method()).isEqualTo("PUT");
                arrived.put(r.rawPath().substring("/r2/".length()), r.sha256());
            }
            assertThat(arrived).isEqualTo(expected);
            RelayProcess.Result r = app.stop(LIMIT);
            assertThat(r.stderr()).contains("delivered bucket=" + BUCKET + " key=docs/report.pdf");
        }
    }

    private record JmsClientRun(int exitCode, String output) {
    }

    /** tools/JmsClient.java in its own JVM, as the README runs it (java -cp 'target/lib/*' tools/JmsClient.java). */
    private JmsClientRun jmsClient(int port, String... args) throws Exception {
        Path out = work.resolve("jms-client-" + System.nanoTime() + ".txt");
        ProcessBuilder pb = new ProcessBuilder(Stream.concat(Stream.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), Path.of("tools", "JmsClient.java").toString()),
                Stream.of(args)).toList())
                .redirectErrorStream(true).redirectOutput(out.toFile());
        pb.environment().put("JMS_URL", "tcp://127.0.0.1:" + port);
        Process p = pb.start();
        if (!p.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("JmsClient did not end: " + Files.readString(out));
        }
        return new JmsClientRun(p.exitValue(), Files.readString(out));
    }
}
