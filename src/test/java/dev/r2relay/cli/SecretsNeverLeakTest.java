package dev.r2relay.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.support.PostgresSchema;
import dev.r2relay.support.RelayProcess;
import dev.r2relay.support.RelayProcess.Result;
import dev.r2relay.support.S3Clients;
import dev.r2relay.support.S3ProxyServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Runs the application and the fetch command with distinctive secrets and checks that none of
 * them, whole or in part, shows in anything the process prints, while the run really works (an
 * object delivered) or really fails (the expected error printed).
 */
class SecretsNeverLeakTest {

    private static final Duration LIMIT = Duration.ofSeconds(90);
    private static final String BUCKET = "leak-bucket";
    private static final String KEY = "incoming/report.csv";
    private static final String BODY = "no secrets in here\n";

    private static final String ACCESS_KEY = "AKIDLEAKCHECK0000001";
    private static final String SECRET = "Sx7-SECRET-KEY-never-print-4471";
    private static final String WRONG_SECRET = "Wr9-WRONG-SECRET-never-print-5521";
    private static final String API_TOKEN = "Tk3-API-TOKEN-VALUE-never-print-0815";
    /** What R2 derives from the token: lowercase hex SHA-256 of its value. */
    private static final String DERIVED = sha256(API_TOKEN);
    private static final String DB_PASSWORD = "Db5-LEDGER-PASSWORD-never-print-2207";
    private static final String SESSION_TOKEN = "Ss8-SESSION-TOKEN-never-print-3309";
    private static final List<String> ALL_SECRETS =
            List.of(SECRET, WRONG_SECRET, API_TOKEN, DERIVED, DB_PASSWORD, SESSION_TOKEN);

    private static S3ProxyServer withSecret;
    private static S3ProxyServer withToken;

    @TempDir
    Path work;

    @BeforeAll
    static void startServers() {
        withSecret = new S3ProxyServer(ACCESS_KEY, SECRET);
        withToken = new S3ProxyServer(ACCESS_KEY, DERIVED);
        for (S3ProxyServer server : List.of(withSecret, withToken)) {
            server.createBucket(BUCKET);
            try (S3Client s3 = S3Clients.of(server)) {
                s3.putObject(b -> b.bucket(BUCKET).key(KEY).contentType("text/csv"), RequestBody.fromString(BODY));
            }
        }
    }

    @AfterAll
    static void stopServers() {
        withSecret.close();
        withToken.close();
    }

    @BeforeEach
    void shipRoutes() throws IOException {
        RelayProcess.copyShippedRoutes(work.resolve("routes"));
    }

    private Map<String, String> runEnv(S3ProxyServer server) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("R2_ENDPOINT", server.endpoint().toString());
        env.put("R2_ACCESS_KEY", ACCESS_KEY);
        env.put("R2_BUCKET", BUCKET);
        env.put("RELAY_INBOX", work.resolve("inbox").toString());
        env.put("RELAY_STATE", work.resolve("state").toString());
        env.put("RELAY_POLL_INTERVAL", "200");
        // the bound: however the test goes, the application stops by itself
        env.put("CAMEL_MAIN_DURATIONMAXSECONDS", "60");
        return env;
    }

    /** Runs until the object is delivered, then stops the application as a service manager would. */
    private Result runUntilDelivered(Map<String, String> env) {
        Path delivered = work.resolve("inbox").resolve(KEY);
        try (RelayProcess app = RelayProcess.in(work).env(env).start("run")) {
            await("delivery of " + KEY).atMost(LIMIT).pollInterval(Duration.ofMillis(100)).until(() -> {
                if (!app.isAlive()) {
                    throw new AssertionError("the application ended early:\n" + app.awaitExit(LIMIT));
                }
                return Files.exists(delivered) && app.stderrSoFar().contains("delivered bucket=" + BUCKET);
            });
            Result r = app.stop(LIMIT);
            assertThat(delivered).hasContent(BODY);
            return r;
        }
    }

    @Test
    void runWithSecretKeyPrintsNoSecret() {
        Map<String, String> env = runEnv(withSecret);
        env.put("R2_SECRET_KEY", SECRET);

        Result r = runUntilDelivered(env);

        assertThat(r.stderr()).contains("delivered bucket=" + BUCKET + " key=" + KEY);
        assertNoSecretIn(r);
    }

    @Test
    void runWithAPostgresLedgerAtDebugLevelPrintsNoDatabasePassword() throws Exception {
        try (PostgresSchema schema = PostgresSchema.create()) {
            Map<String, String> env = runEnv(withSecret);
            env.put("R2_SECRET_KEY", SECRET);
            env.put("RELAY_STATE", schema.url());
            env.put("RELAY_STATE_USERNAME", PostgresSchema.USER);
            env.put("RELAY_STATE_PASSWORD", DB_PASSWORD); // trust authentication ignores it
            env.put("RELAY_LOCAL_STATE", work.resolve("local").toString());
            env.put("RELAY_LOG_LEVEL", "DEBUG");

            Result r = runUntilDelivered(env);

            assertThat(r.stderr()).contains("Shared ledger: this instance is");
            assertNoSecretIn(r);
        }
    }

    @Test
    void aRefusedDatabaseUserFailsTheStartWithoutPrintingThePassword() throws Exception {
        try (PostgresSchema schema = PostgresSchema.create()) {
            Map<String, String> env = runEnv(withSecret);
            env.put("R2_SECRET_KEY", SECRET);
            env.put("RELAY_STATE", schema.url());
            env.put("RELAY_STATE_USERNAME", "no_such_relay_user");
            env.put("RELAY_STATE_PASSWORD", DB_PASSWORD);

            Result r = RelayProcess.in(work).env(env).run(LIMIT, "run", "--once");

            assertThat(r.exitCode()).isEqualTo(2);
            assertThat(r.stderr()).contains("relay.state (RELAY_STATE): cannot open the ledger PostgreSQL")
                    .contains("relay.state.username");
            assertNoSecretIn(r);
        }
    }

    @Test
    void runWithSecretKeyAtDebugLevelPrintsNoSecret() {
        Map<String, String> env = runEnv(withSecret);
        env.put("R2_SECRET_KEY", SECRET);
        env.put("AWS_SESSION_TOKEN", SESSION_TOKEN); // stale beside R2 keys: ignored, and not printed
        env.put("RELAY_LOG_LEVEL", "DEBUG");

        Result r = runUntilDelivered(env);

        assertThat(r.stderr()).contains("delivered bucket=" + BUCKET + " key=" + KEY).contains("DEBUG");
        assertNoSecretIn(r);
    }

    @Test
    void runWithAwsVariablesAndASessionTokenAtDebugLevelPrintsNoSecret() {
        Map<String, String> env = runEnv(withSecret);
        env.remove("R2_ACCESS_KEY");
        env.put("AWS_ACCESS_KEY_ID", ACCESS_KEY);
        env.put("AWS_SECRET_ACCESS_KEY", SECRET);
        env.put("AWS_SESSION_TOKEN", SESSION_TOKEN);
        env.put("RELAY_LOG_LEVEL", "DEBUG");

        Result r = runUntilDelivered(env);

        assertThat(r.stderr()).contains("delivered bucket=" + BUCKET + " key=" + KEY).contains("DEBUG");
        assertNoSecretIn(r);
    }

    @Test
    void runWithApiTokenPrintsNeitherTheTokenNorTheDerivedSecret() {
        Map<String, String> env = runEnv(withToken);
        env.put("R2_API_TOKEN", API_TOKEN);

        Result r = runUntilDelivered(env);

        assertThat(r.stderr()).contains("delivered bucket=" + BUCKET + " key=" + KEY);
        assertNoSecretIn(r);
    }

    @Test
    void runWithWrongSecretReportsTheSignatureErrorAndPrintsNoSecret() {
        Map<String, String> env = runEnv(withSecret);
        env.put("R2_SECRET_KEY", WRONG_SECRET);

        Result r = RelayProcess.in(work).env(env).run(LIMIT, "run");

        assertThat(r.exitCode()).as(r.toString()).isNotZero();
        assertThat(r.stderr()).contains("rejected the request signature");
        assertThat(work.resolve("inbox").resolve(KEY)).doesNotExist();
        assertNoSecretIn(r);
    }

    @Test
    void runWithSecretInApplicationPropertiesPrintsNoSecret() throws IOException {
        Files.writeString(work.resolve("application.properties"), String.join("\n",
                "r2.secret-key=" + SECRET,
                "relay.poll-interval=200", ""));

        Result r = runUntilDelivered(runEnv(withSecret));

        assertThat(r.stderr()).contains("delivered bucket=" + BUCKET + " key=" + KEY);
        assertNoSecretIn(r);
    }

    @Test
    void fetchPrintsNoSecret() {
        Map<String, String> env = runEnv(withSecret);
        env.put("R2_SECRET_KEY", SECRET);

        Result r = RelayProcess.in(work).env(env).run(LIMIT, "fetch", KEY, "-");

        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.stdout()).isEqualTo(BODY);
        assertNoSecretIn(r);
    }

    @Test
    void fetchWithWrongSecretPrintsNoSecret() {
        Map<String, String> env = runEnv(withSecret);
        env.put("R2_SECRET_KEY", WRONG_SECRET);

        Result r = RelayProcess.in(work).env(env).run(LIMIT, "fetch", KEY, "out.csv");

        assertThat(r.exitCode()).as(r.toString()).isEqualTo(4);
        assertThat(r.stderr()).contains("rejected the request signature");
        assertNoSecretIn(r);
    }

    @Test
    void fetchWithApiTokenPrintsNeitherTheTokenNorTheDerivedSecret() {
        Map<String, String> env = runEnv(withToken);
        env.put("R2_API_TOKEN", API_TOKEN);

        Result r = RelayProcess.in(work).env(env).run(LIMIT, "fetch", KEY, "out.csv");

        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(work.resolve("out.csv")).hasContent(BODY);
        assertNoSecretIn(r);
    }

    @Test
    void helpPrintsNoSecretFromTheEnvironment() {
        Map<String, String> env = runEnv(withSecret);
        env.put("R2_SECRET_KEY", SECRET);
        env.put("AWS_SECRET_ACCESS_KEY", WRONG_SECRET);

        Result r = RelayProcess.in(work).env(env).run(LIMIT, "--help");

        assertThat(r.exitCode()).isZero();
        assertThat(r.stdout()).contains("Usage:");
        assertNoSecretIn(r);
    }

    /** No secret, nor any 10-character piece of one, in standard output or standard error. */
    private static void assertNoSecretIn(Result r) {
        String output = r.output();
        for (String secret : ALL_SECRETS) {
            for (int i = 0; i + 10 <= secret.length(); i++) {
                String piece = secret.substring(i, i + 10);
                assertThat(output).as("output must not contain any part of a secret; it holds '%s':%n%s", piece,
                        r).doesNotContain(piece);
            }
        }
    }

    private static String sha256(String value) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(value.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
