package dev.r2relay.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.deadletter.FolderDeadLetterStore;
import dev.r2relay.state.DeliveryLedger;
import dev.r2relay.state.DeliveryLedger.Outcome;
import dev.r2relay.support.HttpSink;
import dev.r2relay.support.HttpSink.Answer;
import dev.r2relay.support.RelayApp;
import dev.r2relay.support.S3ProxyServer;
import dev.r2relay.support.TestObjects;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code dead-letters} and {@code replay} end to end: dead letters made by the real app, then the commands. */
class DeadLetterCommandsTest {

    private static final String BUCKET = "dl-bucket";

    @TempDir
    Path work;

    /** A command's exit code and what it printed. */
    private record Ran(int code, String out, String err) {
    }

    private static Ran run(String command, Map<String, String> settings, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        int code = command.equals("replay") ? ReplayCommand.run(args, settings, o, e)
                : DeadLettersCommand.run(args, settings, o, e);
        return new Ran(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Optional<Outcome> outcome(DeliveryLedger ledger, String key) {
        return ledger.entry(BUCKET, key).map(DeliveryLedger.Entry::outcome);
    }

    @Test
    void listsDeadLettersAndReplaysThemThroughTheTarget() throws Exception {
        byte[] first = "first object".getBytes(StandardCharsets.UTF_8);
        byte[] second = "second object".getBytes(StandardCharsets.UTF_8);
        try (S3ProxyServer s3 = new S3ProxyServer(); TestObjects objects = new TestObjects(s3, BUCKET);
             HttpSink sink = new HttpSink().otherwise(Answer.of(503))) {
            s3.createBucket(BUCKET);
            objects.put("a/first.txt", first, "text/plain");
            objects.put("b/second file.txt", second, "text/plain");
            Map<String, String> settings = RelayApp.settingsFor(s3, BUCKET, work);
            settings.put("relay.target", "http");
            settings.put("relay.http.url", sink.url("/in/{key}"));
            settings.put("relay.http.max-attempts", "2");
            settings.put("relay.http.backoff", "20");

            try (RelayApp app = RelayApp.start(settings)) {
                await().atMost(Duration.ofSeconds(60)).until(() -> outcome(app.ledger(), "a/first.txt").isPresent()
                        && outcome(app.ledger(), "b/second file.txt").isPresent());
            }
            assertThat(sink.received()).hasSize(4);

            Ran listed = run("dead-letters", settings);
            assertThat(listed.code()).isZero();
            assertThat(listed.out()).contains("2 dead letter(s) in " + work.resolve("state/dead-letters"),
                    "TIME", "ATTEMPTS", "KEY", "REASON");
            assertThat(listed.out().lines().filter(l -> l.contains("a/first.txt")).findFirst().orElseThrow())
                    .contains("HTTP 503").containsPattern("\\s2\\s");
            assertThat(listed.out()).contains("b/second file.txt");

            Ran unknown = run("replay", settings, "no/such-key");
            assertThat(unknown.code()).isEqualTo(3);
            assertThat(unknown.err()).contains("no dead letter", "no/such-key");

            // the endpoint still refuses: the replay says so and keeps the letter
            Ran refused = run("replay", settings, "a/first.txt");
            assertThat(refused.code()).isEqualTo(1);
            assertThat(refused.err()).contains("still failing a/first.txt", "HTTP 503",
                    "1 of 1 dead letter(s) could not be delivered");
            FolderDeadLetterStore store = new FolderDeadLetterStore(work.resolve("state/dead-letters"));
            assertThat(store.list()).hasSize(2);
            assertThat(sink.received()).hasSize(6);

            sink.otherwise(Answer.of(201));
            Ran replayed = run("replay", settings);
            assertThat(replayed.code()).as(replayed.err()).isZero();
            assertThat(replayed.out()).contains("replayed a/first.txt -> " + sink.url("/in/a/first.txt"),
                    "replayed b/second file.txt -> " + sink.url("/in/b/second%20file.txt"),
                    "Replayed 2 dead letter(s) through direct:deliver-http");
            assertThat(sink.received()).hasSize(8);
            assertThat(sink.received().subList(6, 8)).extracting(HttpSink.Received::sha256)
                    .containsExactlyInAnyOrder(TestObjects.sha256(first), TestObjects.sha256(second));
            assertThat(store.list()).isEmpty();
            assertThat(run("dead-letters", settings).out()).contains("No dead letters in");

            // a new run sees both as delivered and sends nothing
            try (RelayApp app = RelayApp.start(settings)) {
                assertThat(outcome(app.ledger(), "a/first.txt")).contains(Outcome.DELIVERED);
                assertThat(outcome(app.ledger(), "b/second file.txt")).contains(Outcome.DELIVERED);
                long lists = s3.listCount(BUCKET);
                await().atMost(Duration.ofSeconds(60)).until(() -> s3.listCount(BUCKET) >= lists + 3);
            }
            assertThat(sink.received()).hasSize(8);
            assertThat(run("replay", settings).out()).contains("No dead letters to replay");
        }
    }
}
