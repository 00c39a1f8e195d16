package dev.r2relay.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.support.FaultProxy;
import dev.r2relay.support.FaultProxy.Fault;
import dev.r2relay.support.HttpSink;
import dev.r2relay.support.RelayProcess;
import dev.r2relay.support.RelayProcess.Result;
import dev.r2relay.support.S3Clients;
import dev.r2relay.support.S3ProxyServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/** {@code run} in a child JVM, from a folder holding only routes/, configured by environment variables. */
class RunCommandTest {

    private static final Duration LIMIT = Duration.ofSeconds(90);
    private static final String BUCKET = "run-bucket";
    private static final Pattern DELIVERED = Pattern.compile("delivered bucket=" + BUCKET + " key=(\\S+) ");

    @TempDir
    Path work;

    @Test
    void deliversEachObjectOnceEvenWhenPollsComeFasterThanDeliveries() throws IOException {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            keys.add("batch/object-" + i + ".txt");
        }
        try (S3ProxyServer server = new S3ProxyServer()) {
            server.createBucket(BUCKET);
            try (S3Client s3 = S3Clients.of(server)) {
                for (String key : keys) {
                    s3.putObject(b -> b.bucket(BUCKET).key(key), RequestBody.fromString("body of " + key));
                }
            }
            RelayProcess.copyShippedRoutes(work.resolve("routes"));
            Path inbox = work.resolve("inbox");
            try (RelayProcess app = relay(server)
                    // a poll every millisecond: each delivery outlasts many poll periods
                    .env("RELAY_POLL_INTERVAL", "1")
                    .env("CAMEL_MAIN_DURATIONMAXSECONDS", "60")
                    .start("run")) {
                await("all objects delivered").atMost(LIMIT).until(() -> {
                    assertThat(app.isAlive()).as("the application runs").isTrue();
                    return keys.stream().allMatch(k -> Files.exists(inbox.resolve(k)));
                });
                long listsThen = server.listCount(BUCKET);
                await("a hundred more polls").atMost(LIMIT).until(() -> server.listCount(BUCKET) >= listsThen + 100);

                Result r = app.stop(LIMIT);

                List<String> delivered = new ArrayList<>();
                Matcher m = DELIVERED.matcher(r.stderr());
                while (m.find()) {
                    delivered.add(m.group(1));
                }
                assertThat(delivered).as(r.toString()).containsExactlyInAnyOrderElementsOf(keys);
                assertThat(server.getCount(BUCKET)).as("GET requests").isEqualTo(keys.size());
                assertThat(r.stderr()).doesNotContain("not delivered");
                for (String key : keys) {
                    assertThat(inbox.resolve(key)).hasContent("body of " + key);
                }
            }
        }
    }

    @Test
    void runOnceExitsWith1WhenAnObjectCannotBeDeliveredAnd0OnceItIs() throws IOException {
        try (S3ProxyServer server = new S3ProxyServer()) {
            server.createBucket(BUCKET);
            try (S3Client s3 = S3Clients.of(server)) {
                s3.putObject(b -> b.bucket(BUCKET).key("a/one.txt"), RequestBody.fromString("one"));
            }
            RelayProcess.copyShippedRoutes(work.resolve("routes"));
            // a file where the inbox's folder should be: nothing can be written below it
            Path blocker = Files.writeString(work.resolve("blocker"), "not a folder");
            RelayProcess.Builder relay = relay(server).env("RELAY_INBOX", blocker.resolve("inbox").toString());

            Result failed = relay.run(LIMIT, "run", "--once");

            assertThat(failed.exitCode()).as(failed.toString()).isEqualTo(1);
            assertThat(failed.stderr()).contains("the pass did not deliver everything: 1 failure(s)")
                    .contains("not delivered bucket=" + BUCKET + " key=a/one.txt");

            Files.delete(blocker);
            Result delivered = relay.run(LIMIT, "run", "--once");

            assertThat(delivered.exitCode()).as(delivered.toString()).isZero();
            assertThat(blocker.resolve("inbox/a/one.txt")).hasContent("one");
        }
    }

    @Test
    void runOnceEndsWith1WhenItsListingFailsInsteadOfWaitingForever() throws IOException {
        try (S3ProxyServer server = new S3ProxyServer(); FaultProxy proxy = new FaultProxy(server.endpoint())) {
            server.createBucket(BUCKET);
            RelayProcess.copyShippedRoutes(work.resolve("routes"));
            // the start-up check's listing goes through; the poll's listing gets 500s
            AtomicInteger listings = new AtomicInteger();
            proxy.injectAlways(r -> r.isListing() && listings.incrementAndGet() > 1, Fault.internalError());

            Result r = relay(server).env("R2_ENDPOINT", proxy.endpoint().toString()).run(LIMIT, "run", "--once");

            assertThat(r.exitCode()).as(r.toString()).isEqualTo(1);
            assertThat(r.stderr()).contains("poll failed: ").contains("the pass failed; stopping")
                    .contains("the pass did not deliver everything: 1 failure(s)");
        }
    }

    @Test
    void runOnceExitsWith1WhenTheHttpTargetDeadLettersAnObject() throws IOException {
        try (S3ProxyServer server = new S3ProxyServer(); HttpSink sink = new HttpSink()) {
            server.createBucket(BUCKET);
            try (S3Client s3 = S3Clients.of(server)) {
                s3.putObject(b -> b.bucket(BUCKET).key("a/one.txt"), RequestBody.fromString("one"));
            }
            RelayProcess.copyShippedRoutes(work.resolve("routes"));
            sink.otherwise(HttpSink.Answer.of(400));

            Result r = relay(server).env("RELAY_TARGET", "http").env("RELAY_HTTP_URL", sink.url("/in/{key}"))
                    .run(LIMIT, "run", "--once");

            assertThat(r.exitCode()).as(r.toString()).isEqualTo(1);
            assertThat(sink.received()).hasSize(1);
            assertThat(r.stderr()).contains("the pass did not deliver everything: 1 failure(s)");
        }
    }

    @Test
    void runOnceExitsWith1WhenTheJmsBrokerIsDown() throws IOException {
        try (S3ProxyServer server = new S3ProxyServer()) {
            server.createBucket(BUCKET);
            try (S3Client s3 = S3Clients.of(server)) {
                s3.putObject(b -> b.bucket(BUCKET).key("a/one.txt"), RequestBody.fromString("one"));
            }
            RelayProcess.copyShippedRoutes(work.resolve("routes"));

            Result r = relay(server).env("RELAY_TARGET", "jms")
                    .env("RELAY_JMS_URL", "tcp://127.0.0.1:" + HttpSink.freePort()).run(LIMIT, "run", "--once");

            assertThat(r.exitCode()).as(r.toString()).isEqualTo(1);
            assertThat(r.stderr()).contains("not delivered bucket=" + BUCKET + " key=a/one.txt")
                    .contains("the pass did not deliver everything: 1 failure(s)");
        }
    }

    @Test
    void runOnceWithThePollerOffStopsAtOnceWith2() throws IOException {
        try (S3ProxyServer server = new S3ProxyServer()) {
            server.createBucket(BUCKET);
            RelayProcess.copyShippedRoutes(work.resolve("routes"));

            Result r = relay(server).env("RELAY_POLL_ENABLED", "false").run(LIMIT, "run", "--once");

            assertThat(r.exitCode()).as(r.toString()).isEqualTo(2);
            assertThat(r.stderr()).contains("run --once (relay.exit-when-idle) ends after one poll, but"
                    + " relay.poll.enabled (RELAY_POLL_ENABLED) is false");
        }
    }

    /** The relay in a child JVM against {@code server}, delivering to work/inbox; a GET is tried twice at most. */
    private RelayProcess.Builder relay(S3ProxyServer server) {
        return RelayProcess.in(work)
                .env("R2_ENDPOINT", server.endpoint().toString())
                .env("R2_ACCESS_KEY", S3ProxyServer.ACCESS_KEY)
                .env("R2_SECRET_KEY", S3ProxyServer.SECRET_KEY)
                .env("R2_BUCKET", BUCKET)
                .env("RELAY_INBOX", work.resolve("inbox").toString())
                .env("RELAY_STATE", work.resolve("state").toString())
                .env("R2_MAX_ATTEMPTS", "2");
    }
}
