package dev.r2relay.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.r2relay.support.RelayProcess;
import dev.r2relay.support.RelayProcess.Result;
import dev.r2relay.support.S3Clients;
import dev.r2relay.support.S3ProxyServer;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.params.ParameterizedTest;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;

/** {@code fetch KEY [DEST]} run as users run it: a child JVM in an empty folder, configured by environment. */
class FetchCommandTest {

    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static final String BUCKET = "cli-bucket";
    private static final String CSV_KEY = "reports/2024/orders.csv";
    private static final byte[] CSV = "id,amount\n1,9.99\n2,120.00\n".getBytes(StandardCharsets.UTF_8);
    private static final String BIN_KEY = "blobs/random.bin";
    private static final byte[] BIN = randomBytes(300 * 1024 + 7);
    private static final String ODD_KEY = "docs/Q1 résumé+final%20.txt";

    private static S3ProxyServer server;
    private static HeadObjectResponse csvHead;

    @TempDir
    Path work;

    @BeforeAll
    static void startServer() {
        server = new S3ProxyServer();
        server.createBucket(BUCKET);
        try (S3Client s3 = S3Clients.of(server)) {
            s3.putObject(b -> b.bucket(BUCKET).key(CSV_KEY).contentType("text/csv"), RequestBody.fromBytes(CSV));
            s3.putObject(b -> b.bucket(BUCKET).key(BIN_KEY).contentType("application/octet-stream"),
                    RequestBody.fromBytes(BIN));
            s3.putObject(b -> b.bucket(BUCKET).key(ODD_KEY).contentType("text/plain"),
                    RequestBody.fromString("odd key"));
            csvHead = s3.headObject(b -> b.bucket(BUCKET).key(CSV_KEY));
        }
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    private static Map<String, String> r2Env() {
        return Map.of(
                "R2_ENDPOINT", server.endpoint().toString(),
                "R2_ACCESS_KEY", S3ProxyServer.ACCESS_KEY,
                "R2_SECRET_KEY", S3ProxyServer.SECRET_KEY,
                "R2_BUCKET", BUCKET);
    }

    private Result fetch(Map<String, String> env, String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "fetch";
        System.arraycopy(args, 0, all, 1, args.length);
        return RelayProcess.in(work).env(env).run(LIMIT, all);
    }

    @Test
    void writesTheByteIdenticalFileAndPrintsItsMetadata() throws IOException {
        Result r = fetch(r2Env(), CSV_KEY, "out.csv");

        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(work.resolve("out.csv")).hasBinaryContent(CSV);
        assertThat(r.stdout())
                .containsPattern("(?m)^key:\\s+" + CSV_KEY + "$")
                .containsPattern("(?m)^size:\\s+" + CSV.length + "$")
                .containsPattern("(?m)^etag:\\s+" + md5Hex(CSV) + "$")
                .containsPattern("(?m)^content-type:\\s+text/csv$")
                .doesNotContain("content-encoding:")
                .containsPattern("(?m)^last-modified:\\s+" + csvHead.lastModified() + "$")
                .containsPattern("(?m)^written:\\s+" + Pattern.quote(
                        work.resolve("out.csv").toRealPath().toString()) + "$");
        assertThat(r.stderr()).doesNotContain("ERROR", "Exception");
    }

    @Test
    void writesALargeBinaryObjectByteForByte() {
        Result r = fetch(r2Env(), BIN_KEY, "random.bin");

        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(work.resolve("random.bin")).hasBinaryContent(BIN);
        assertThat(r.stdout()).containsPattern("(?m)^size:\\s+" + BIN.length + "$");
    }

    @Test
    void withoutDestWritesTheKeysFileNameInTheWorkingDirectory() {
        Result r = fetch(r2Env(), CSV_KEY);

        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(work.resolve("orders.csv")).hasBinaryContent(CSV);
    }

    @Test
    void destFolderReceivesTheKeysFileName() throws IOException {
        Files.createDirectories(work.resolve("downloads"));

        Result r = fetch(r2Env(), CSV_KEY, "downloads");

        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(work.resolve("downloads/orders.csv")).hasBinaryContent(CSV);
    }

    @Test
    void keysWithSpacesUnicodeAndPercentAreFetchedAsWritten() {
        Result r = fetch(r2Env(), ODD_KEY, "odd.txt");

        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(work.resolve("odd.txt")).hasContent("odd key");
    }

    @Test
    void dashWritesOnlyTheBytesToStandardOutputAndTheMetadataToStandardError() throws IOException {
        Result r = fetch(r2Env(), BIN_KEY, "-");

        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(r.stdoutBytes()).isEqualTo(BIN);
        assertThat(r.stderr())
                .containsPattern("(?m)^size:\\s+" + BIN.length + "$")
                .containsPattern("(?m)^etag:\\s+" + md5Hex(BIN) + "$")
                .containsPattern("(?m)^content-type:\\s+application/octet-stream$")
                .contains("last-modified:");
        try (var files = Files.list(work)) {
            assertThat(files).as("nothing written to the working directory").isEmpty();
        }
    }

    @Test
    void missingKeyExitsWith3NamingTheKey() {
        Result r = fetch(r2Env(), "reports/2024/nope.csv", "nope.csv");

        assertThat(r.exitCode()).as(r.toString()).isEqualTo(3);
        assertThat(r.stderr()).contains("reports/2024/nope.csv").contains(BUCKET);
        assertThat(work.resolve("nope.csv")).doesNotExist();
        assertNoStackTrace(r);
    }

    @Test
    void missingBucketExitsWith3NamingTheBucket() {
        Map<String, String> env = new HashMap<>(r2Env());
        env.put("R2_BUCKET", "no-such-bucket");

        Result r = fetch(env, CSV_KEY, "out.csv");

        assertThat(r.exitCode()).as(r.toString()).isEqualTo(3);
        assertThat(r.stderr()).contains("bucket 'no-such-bucket' does not exist").contains("R2_BUCKET");
        assertNoStackTrace(r);
    }

    @Test
    void wrongSecretExitsWith4SayingTheSecretDoesNotMatch() {
        Map<String, String> env = new HashMap<>(r2Env());
        env.put("R2_SECRET_KEY", "not-the-secret-at-all");

        Result r = fetch(env, CSV_KEY, "out.csv");

        assertThat(r.exitCode()).as(r.toString()).isEqualTo(4);
        assertThat(r.stderr()).contains("rejected the request signature")
                .contains("r2.secret-key").doesNotContain("not-the-secret-at-all");
        assertThat(work.resolve("out.csv")).doesNotExist();
        assertNoStackTrace(r);
    }

    @Test
    void unknownAccessKeyExitsWith4NamingTheAccessKeySetting() {
        Map<String, String> env = new HashMap<>(r2Env());
        env.put("R2_ACCESS_KEY", "AKIDUNKNOWN000000000");

        Result r = fetch(env, CSV_KEY, "out.csv");

        assertThat(r.exitCode()).as(r.toString()).isEqualTo(4);
        assertThat(r.stderr()).contains("access key").contains("r2.access-key");
        assertNoStackTrace(r);
    }

    @Test
    void unreachableEndpointExitsWith5NamingTheEndpoint() throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        Map<String, String> env = new HashMap<>(r2Env());
        env.put("R2_ENDPOINT", "http://127.0.0.1:" + closedPort);

        Result r = fetch(env, CSV_KEY, "out.csv");

        assertThat(r.exitCode()).as(r.toString()).isEqualTo(5);
        assertThat(r.stderr()).contains("127.0.0.1:" + closedPort).contains("connection refused")
                .contains("r2.endpoint");
        assertNoStackTrace(r);
    }

    @Test
    void awsVariablesAloneConfigureTheFetch() {
        Result r = fetch(Map.of(
                "AWS_ENDPOINT_URL", server.endpoint().toString(),
                "AWS_REGION", "auto",
                "AWS_ACCESS_KEY_ID", S3ProxyServer.ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY", S3ProxyServer.SECRET_KEY,
                "R2_BUCKET", BUCKET), CSV_KEY, "out.csv");

        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(work.resolve("out.csv")).hasBinaryContent(CSV);
    }

    @Test
    void readsApplicationPropertiesInTheWorkingDirectory() throws IOException {
        Files.writeString(work.resolve("application.properties"), String.join("\n",
                "r2.endpoint=" + server.endpoint(),
                "r2.access-key=" + S3ProxyServer.ACCESS_KEY,
                "r2.secret-key=" + S3ProxyServer.SECRET_KEY,
                "r2.bucket=" + BUCKET, ""));

        Result r = fetch(Map.of(), CSV_KEY, "out.csv");

        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(work.resolve("out.csv")).hasBinaryContent(CSV);
    }

    @Test
    void environmentOverridesApplicationProperties() throws IOException {
        Files.writeString(work.resolve("application.properties"), String.join("\n",
                "r2.endpoint=" + server.endpoint(),
                "r2.access-key=" + S3ProxyServer.ACCESS_KEY,
                "r2.secret-key=" + S3ProxyServer.SECRET_KEY,
                "r2.bucket=some-other-bucket", ""));

        Result r = fetch(Map.of("R2_BUCKET", BUCKET), CSV_KEY, "out.csv");

        assertThat(r.exitCode()).as(r.toString()).isZero();
        assertThat(work.resolve("out.csv")).hasBinaryContent(CSV);
    }

    @Test
    void invalidSettingsExitWith2NamingTheSetting() {
        Map<String, String> env = new HashMap<>(r2Env());
        env.put("R2_BUCKET", "Not_A_Bucket");

        Result r = fetch(env, CSV_KEY);

        assertThat(r.exitCode()).as(r.toString()).isEqualTo(2);
        assertThat(r.stderr()).contains("r2.bucket (R2_BUCKET)").contains("Not_A_Bucket");
        assertNoStackTrace(r);
    }

    @ParameterizedTest
    @ValueSource(strings = {"reports/", "reports/2024/..", "reports/."})
    void aKeyWithoutAFileNameOfItsOwnExitsWith2AskingForADest(String key) {
        Result r = fetch(r2Env(), key);

        assertThat(r.exitCode()).as(r.toString()).isEqualTo(2);
        assertThat(r.stderr()).contains("key '" + key + "' has no file name of its own; give a DEST");
        assertNoStackTrace(r);
    }

    @Test
    void withoutAKeyExitsWith2AndShowsUsage() {
        Result r = fetch(r2Env());

        assertThat(r.exitCode()).as(r.toString()).isEqualTo(2);
        assertThat(r.stderr()).contains("fetch needs a KEY").contains("Usage:");
    }

    private static void assertNoStackTrace(Result r) {
        assertThat(r.output()).doesNotContainPattern("(?m)^\\s+at [a-z]").doesNotContain("Exception:");
    }

    private static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        new Random(42).nextBytes(bytes);
        return bytes;
    }

    private static String md5Hex(byte[] bytes) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("MD5").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
