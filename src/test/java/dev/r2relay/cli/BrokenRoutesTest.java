package dev.r2relay.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.r2relay.state.DeliveryLedger;
import dev.r2relay.support.RelayProcess;
import dev.r2relay.support.RelayProcess.Result;
import dev.r2relay.support.S3Clients;
import dev.r2relay.support.S3ProxyServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A route file with a mistake stops {@code run} with a non-zero exit and one message naming the
 * file and the line, without a stack trace, and loses nothing: the object waiting in the bucket is
 * neither delivered nor recorded. The shipped routes/ are copied next to the broken file.
 */
class BrokenRoutesTest {

    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final String BUCKET = "routes-bucket";

    private static S3ProxyServer server;

    @TempDir
    Path work;
    private Path routes;

    private static final String WAITING = "incoming/waiting.txt";

    @BeforeAll
    static void startServer() {
        server = new S3ProxyServer();
        server.createBucket(BUCKET);
        try (S3Client s3 = S3Clients.of(server)) {
            s3.putObject(b -> b.bucket(BUCKET).key(WAITING), RequestBody.fromString("waits for a fixed route"));
        }
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @BeforeEach
    void copyShippedRoutes() throws IOException {
        routes = RelayProcess.copyShippedRoutes(work.resolve("elsewhere/routes"));
    }

    private Result runWith(String brokenFile, String yaml) throws IOException {
        Files.writeString(routes.resolve(brokenFile), yaml);
        Result r = RelayProcess.in(work)
                .env("R2_ENDPOINT", server.endpoint().toString())
                .env("R2_ACCESS_KEY", S3ProxyServer.ACCESS_KEY)
                .env("R2_SECRET_KEY", S3ProxyServer.SECRET_KEY)
                .env("R2_BUCKET", BUCKET)
                .env("RELAY_INBOX", work.resolve("inbox").toString())
                .env("RELAY_STATE", work.resolve("state").toString())
                .env("CAMEL_MAIN_ROUTESINCLUDEPATTERN", "file:" + routes + "/*.camel.yaml")
                // should a broken route start after all, the run still ends and the test fails on exit 0
                .env("CAMEL_MAIN_DURATIONMAXSECONDS", "20")
                .run(LIMIT, "run");
        assertNothingLost();
        return r;
    }

    /** The waiting object is still in the bucket, with nothing delivered or recorded. */
    private void assertNothingLost() {
        try (S3Client s3 = S3Clients.of(server)) {
            assertThat(s3.headObject(b -> b.bucket(BUCKET).key(WAITING)).contentLength()).isPositive();
        }
        assertThat(work.resolve("inbox").resolve(WAITING)).doesNotExist();
        if (Files.exists(work.resolve("state/ledger.mv.db"))) {
            try (DeliveryLedger ledger = DeliveryLedger.open(work.resolve("state").toString())) {
                assertThat(ledger.count()).as("objects recorded").isZero();
            }
        }
    }

    @Test
    void yamlSyntaxErrorNamesTheFileAndLine() throws IOException {
        Result r = runWith("broken.camel.yaml", """
                - route:
                    id: broken
                    from:
                      uri: "timer:broken"
                      steps:
                        - log: "unterminated
                          message: [oops
                """);

        assertThat(r.exitCode()).as(r.toString()).isNotZero();
        assertThat(r.stderr()).contains(routes.resolve("broken.camel.yaml").toString()).contains("line 6");
        assertNoStackTrace(r);
    }

    @Test
    void misspelledStepNameNamesTheFileAndLine() throws IOException {
        Result r = runWith("broken.camel.yaml", """
                - route:
                    id: broken
                    from:
                      uri: "timer:broken"
                      steps:
                        - too:
                            uri: "log:broken"
                """);

        assertThat(r.exitCode()).as(r.toString()).isNotZero();
        assertThat(r.stderr()).contains(routes.resolve("broken.camel.yaml").toString()).contains("line 6")
                .contains("too");
        assertNoStackTrace(r);
    }

    @Test
    void misspelledStepOptionNamesTheFileAndLine() throws IOException {
        Result r = runWith("broken.camel.yaml", """
                - route:
                    id: broken
                    from:
                      uri: "timer:broken"
                      steps:
                        - to:
                            id: misspelled
                            uir: "log:broken"
                """);

        assertThat(r.exitCode()).as(r.toString()).isNotZero();
        assertThat(r.stderr()).contains(routes.resolve("broken.camel.yaml").toString()).contains("line 8")
                .contains("uir");
        assertNoStackTrace(r);
    }

    @Test
    void unknownEndpointOptionOfAStepNamesTheFileLineRouteAndStep() throws IOException {
        Result r = runWith("broken.camel.yaml", """
                - route:
                    id: broken
                    from:
                      uri: "timer:broken"
                      parameters:
                        period: "60000"
                      steps:
                        - to:
                            id: log-it
                            uri: "log:broken"
                            parameters:
                              lvel: INFO
                """);

        assertThat(r.exitCode()).as(r.toString()).isNotZero();
        assertThat(r.stderr()).contains(routes.resolve("broken.camel.yaml").toString() + ", line 8")
                .contains("route 'broken', step 'log-it'").contains("lvel");
        assertNoStackTrace(r);
    }

    @Test
    void unknownEndpointOptionOfTheConsumerNamesTheFileAndLine() throws IOException {
        Result r = runWith("broken.camel.yaml", """
                - route:
                    id: broken
                    from:
                      uri: "timer:broken"
                      parameters:
                        peroid: "60000"
                      steps:
                        - to:
                            uri: "log:broken"
                """);

        assertThat(r.exitCode()).as(r.toString()).isNotZero();
        // Camel records the consumer at the line of its uri
        assertThat(r.stderr()).contains(routes.resolve("broken.camel.yaml").toString()).contains("line 4")
                .contains("route 'broken'").doesNotContain("step 'from").contains("peroid");
        assertNoStackTrace(r);
    }

    @Test
    void mistakeInAShippedRouteNamesThatFile() throws IOException {
        Path deliver = routes.resolve("deliver-file.camel.yaml");
        String yaml = Files.readString(deliver);
        Files.writeString(deliver, yaml.replace("operation: getObject", "operaton: getObject"));
        List<String> lines = yaml.lines().toList();
        // Camel records a step at its "- to:" line, the one before its id (0-based index of the id = 1-based line of "to")
        int stepLine = lines.indexOf(lines.stream().filter(l -> l.contains("id: get-object")).findFirst().orElseThrow());

        Result r = runWith("extra.camel.yaml", "[]\n");

        assertThat(r.exitCode()).as(r.toString()).isNotZero();
        // the step nests inside a choice: the message names the step, at the line Camel records for it
        assertThat(r.stderr()).contains(deliver + ", line " + stepLine).contains("route 'deliver-file', step 'get-object'")
                .contains("operaton");
        assertNoStackTrace(r);
    }

    @Test
    void missingRoutesFolderNamesTheFolderAndTheWorkingDirectory() {
        Result r = RelayProcess.in(work)
                .env("R2_ENDPOINT", server.endpoint().toString())
                .env("R2_ACCESS_KEY", S3ProxyServer.ACCESS_KEY)
                .env("R2_SECRET_KEY", S3ProxyServer.SECRET_KEY)
                .env("R2_BUCKET", BUCKET)
                .env("RELAY_INBOX", work.resolve("inbox").toString())
                .env("RELAY_STATE", work.resolve("state").toString())
                .env("CAMEL_MAIN_DURATIONMAXSECONDS", "20")
                .run(LIMIT, "run");

        assertThat(r.exitCode()).as(r.toString()).isNotZero();
        assertThat(r.stderr()).contains("routes").contains(work.toString());
        assertNoStackTrace(r);
    }

    private static void assertNoStackTrace(Result r) {
        assertThat(r.output()).doesNotContainPattern("(?m)^\\s+at [a-z]").doesNotContain("Caused by");
    }
}
