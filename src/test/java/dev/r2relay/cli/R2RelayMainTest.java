package dev.r2relay.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.r2relay.support.RelayProcess;
import dev.r2relay.support.RelayProcess.Result;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The command line itself, in a child JVM in an empty folder. */
class R2RelayMainTest {

    private static final Duration LIMIT = Duration.ofSeconds(60);

    @TempDir
    Path work;

    @ParameterizedTest
    @ValueSource(strings = {"--help", "-h", "help"})
    void helpExitsZeroAndListsTheCommandsAndMainSettings(String flag) throws Exception {
        Result r = RelayProcess.in(work).run(LIMIT, flag);

        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.stdout())
                .contains("Usage:")
                .containsPattern("(?m)^\\s+run\\s")
                .containsPattern("(?m)^\\s+fetch KEY \\[DEST\\]")
                .contains("r2.endpoint", "R2_ENDPOINT", "r2.account-id", "r2.jurisdiction", "r2.region",
                        "r2.access-key", "R2_ACCESS_KEY", "r2.api-token", "R2_API_TOKEN", "r2.secret-key",
                        "R2_SECRET_KEY", "r2.bucket", "R2_BUCKET", "r2.prefix", "relay.inbox", "RELAY_INBOX",
                        "relay.state", "relay.poll-interval", "relay.after-delivery",
                        "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
                .contains("Exit codes:");
        assertThat(r.stderr()).isBlank();
        try (var files = Files.list(work)) {
            assertThat(files).as("help touches nothing").isEmpty();
        }
    }

    @Test
    void unknownCommandExitsWith2NamingItAndShowsUsage() {
        Result r = RelayProcess.in(work).run(LIMIT, "fecth", "a.txt");

        assertThat(r.exitCode()).as(r.toString()).isEqualTo(2);
        assertThat(r.stderr()).contains("unknown command 'fecth'").contains("Usage:");
        assertThat(r.stdout()).isEmpty();
    }

    @Test
    void invalidSettingsStopRunWith2NamingTheSettingWithoutAStackTrace() throws IOException {
        RelayProcess.copyShippedRoutes(work.resolve("routes"));

        Result r = RelayProcess.in(work)
                .env("RELAY_POLL_INTERVAL", "-5")
                .env("RELAY_STATE", work.resolve("state").toString())
                .env("CAMEL_MAIN_DURATIONMAXSECONDS", "20")
                .run(LIMIT, "run");

        assertThat(r.exitCode()).as(r.toString()).isEqualTo(2);
        assertThat(r.stderr()).contains("relay.poll-interval (RELAY_POLL_INTERVAL)").contains("'-5'");
        assertThat(r.output()).doesNotContainPattern("(?m)^\\s+at [a-z]");
    }

    @Test
    void aTargetNoRouteServesStopsRunWith2NamingTheSettingAndTheTargetsThereAre() throws IOException {
        RelayProcess.copyShippedRoutes(work.resolve("routes"));

        Result r = RelayProcess.in(work)
                .env("RELAY_TARGET", "Archive")
                .env("RELAY_STATE", work.resolve("state").toString())
                .env("RELAY_EMBEDDED_PORT", "0")
                .env("CAMEL_MAIN_DURATIONMAXSECONDS", "20")
                .run(LIMIT, "run");

        assertThat(r.exitCode()).as(r.toString()).isEqualTo(2);
        assertThat(r.stderr()).contains("relay.target (RELAY_TARGET) is 'archive'")
                .contains("direct:deliver-archive").contains("offers are: file, http (");
        assertThat(r.output()).doesNotContainPattern("(?m)^\\s+at [a-z]");
    }

    @Test
    void aTakenPortOfTheStandInStopsTheStartWith2NamingTheSetting() throws IOException {
        RelayProcess.copyShippedRoutes(work.resolve("routes"));
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Result r = RelayProcess.in(work)
                    .env("RELAY_EMBEDDED_PORT", Integer.toString(taken.getLocalPort()))
                    .env("RELAY_STATE", work.resolve("state").toString())
                    .run(LIMIT, "run", "--once");

            assertThat(r.exitCode()).as(r.toString()).isEqualTo(2);
            assertThat(r.stderr()).contains("r2-relay: relay.embedded.port (RELAY_EMBEDDED_PORT): port "
                    + taken.getLocalPort() + " on 127.0.0.1 is taken by another process");
        }
    }

    @Test
    void aTakenPortOfTheHttpServerStopsTheStartWith2NamingTheSetting() throws IOException {
        RelayProcess.copyShippedRoutes(work.resolve("routes"));
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Result r = RelayProcess.in(work)
                    .env("RELAY_EMBEDDED_PORT", "0")
                    .env("RELAY_STATE", work.resolve("state").toString())
                    .env("RELAY_HTTP_SERVER_ENABLED", "true")
                    .env("RELAY_HTTP_SERVER_PORT", Integer.toString(taken.getLocalPort()))
                    .run(LIMIT, "run", "--once");

            assertThat(r.exitCode()).as(r.toString()).isEqualTo(2);
            assertThat(r.stderr()).contains("r2-relay: relay.http-server.port (RELAY_HTTP_SERVER_PORT): 127.0.0.1:"
                    + taken.getLocalPort() + " is taken by another process");
            assertThat(r.stderr()).doesNotContain("Failed to start Vert.x");
        }
    }
}
