package dev.r2relay.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.r2relay.support.HttpSink;
import dev.r2relay.support.RelayProcess;
import dev.r2relay.support.RelayProcess.Result;
import dev.r2relay.support.S3Clients;
import dev.r2relay.support.S3ProxyServer;
import dev.r2relay.support.TestObjects;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The "done when", as a user runs it: the packaged jar ({@code java -jar
 * target/r2-relay.jar}, built by {@code package} before this integration test) in a folder holding
 * only the shipped routes, application.properties and samples. Uploads go through the AWS CLI, as
 * the README says, when it is installed, and through the SDK otherwise (said on the console).
 */
class ReadmeRunIT {

    private static final Path JAR = Path.of("target", "r2-relay.jar");
    private static final Duration LIMIT = Duration.ofMinutes(2);
    private static final Pattern UPLOAD_LINE = Pattern.compile("Upload to it with: AWS_ACCESS_KEY_ID=(\\S+)"
            + " AWS_SECRET_ACCESS_KEY=(\\S+) .*aws s3 cp FILE s3://([^/\\s]+)/KEY --endpoint-url (\\S+)");
    /** The shipped application.properties polls every 5 s. */
    private static final Duration POLL_INTERVAL = Duration.ofSeconds(5);

    @TempDir
    Path work;

    @BeforeEach
    void layOutAsAFreshClone() throws IOException {
        assertThat(JAR).as("the packaged jar (mvn package runs before the integration tests)").isRegularFile();
        RelayProcess.copyShippedRoutes(work.resolve("routes"));
        Files.copy(Path.of("application.properties"), work.resolve("application.properties"));
        copyTree(Path.of("samples"), work.resolve("samples"));
    }

    @Test
    void runCommandDeliversEverySampleThenAnUploadWithinAPollAndNothingTwiceAfterARestart() throws Exception {
        Map<String, String> samples = digestsUnder(work.resolve("samples"));
        assertThat(samples).hasSizeGreaterThanOrEqualTo(5);
        Path inbox = work.resolve("inbox");
        byte[] uploaded = randomBytes(70_001, 7);
        Map<String, BasicFileAttributes> firstRun;
        try (RelayProcess relay = RelayProcess.in(work).jar(JAR)
                .env("RELAY_EMBEDDED_PORT", Integer.toString(HttpSink.freePort())).start()) {
            relay.awaitWhileAlive("every sample in inbox/, byte-identical", LIMIT,
                    () -> digestsUnder(inbox).equals(samples));

            Matcher how = UPLOAD_LINE.matcher(relay.stderrSoFar());
            assertThat(how.find()).as("the stand-in's upload instructions in:\n" + relay.stderrSoFar()).isTrue();
            Path file = Files.write(work.resolve("upload.bin"), uploaded);
            upload(file, how.group(1), how.group(2), how.group(3), "uploads/2024/upload.bin", how.group(4));
            long uploadedAt = System.nanoTime();
            relay.awaitWhileAlive("the upload in inbox/", POLL_INTERVAL.plusSeconds(2),
                    () -> Files.exists(inbox.resolve("uploads/2024/upload.bin")));
            assertThat(Duration.ofNanos(System.nanoTime() - uploadedAt)).isLessThan(POLL_INTERVAL.plusSeconds(2));
            assertThat(inbox.resolve("uploads/2024/upload.bin")).hasBinaryContent(uploaded);

            Result stopped = relay.stop(LIMIT);
            assertThat(stopped.exitCode()).as(stopped.toString()).isZero();
            assertThat(RelayProcess.deliveredKeys(stopped.stderr()).values()).allMatch(n -> n == 1);
            firstRun = attributesUnder(inbox);
        }

        // started again (one pass, then exit): nothing is delivered or written again
        Result again = RelayProcess.in(work).jar(JAR)
                .env("RELAY_EMBEDDED_PORT", Integer.toString(HttpSink.freePort())).run(LIMIT, "run", "--once");
        assertThat(again.exitCode()).as(again.toString()).isZero();
        assertThat(RelayProcess.deliveredKeys(again.stderr())).as(again.stderr()).isEmpty();
        assertThat(again.stderr()).contains("holds " + (samples.size() + 1) + " objects");
        Map<String, BasicFileAttributes> secondRun = attributesUnder(inbox);
        assertThat(secondRun.keySet()).isEqualTo(firstRun.keySet());
        secondRun.forEach((path, attrs) -> {
            assertThat(attrs.fileKey()).as("inode of %s", path).isEqualTo(firstRun.get(path).fileKey());
            assertThat(attrs.lastModifiedTime()).as("mtime of %s", path)
                    .isEqualTo(firstRun.get(path).lastModifiedTime());
        });
    }

    @Test
    void environmentVariablesAlonePointTheJarAtAnotherServerAndItDeliversTheWholeTree() throws Exception {
        Path tree = work.resolve("tree");
        copyTree(Path.of("samples"), tree);
        Path deep = Files.createDirectories(tree.resolve("deep/er/still/deeper"));
        Files.write(deep.resolve("blob with spaces.bin"), randomBytes(300_000, 3));
        Map<String, String> expected = digestsUnder(tree);
        try (S3ProxyServer server = new S3ProxyServer()) {
            server.createBucket("other-bucket");
            uploadTree(tree, server, "other-bucket");
            Result run = RelayProcess.in(work).jar(JAR)
                    .env("AWS_ENDPOINT_URL", server.endpoint().toString())
                    .env("AWS_ACCESS_KEY_ID", server.accessKey())
                    .env("AWS_SECRET_ACCESS_KEY", server.secretKey())
                    .env("R2_BUCKET", "other-bucket")
                    .env("RELAY_INBOX", work.resolve("elsewhere/inbox").toString())
                    .env("RELAY_STATE", work.resolve("elsewhere/state").toString())
                    .run(LIMIT, "run", "--once");
            assertThat(run.exitCode()).as(run.toString()).isZero();
            assertThat(run.stderr()).doesNotContain("local S3-compatible stand-in");
            assertThat(digestsUnder(work.resolve("elsewhere/inbox"))).isEqualTo(expected);
            assertThat(server.getCount("other-bucket")).as("GET requests").isEqualTo(expected.size());
        }
    }

    private static byte[] randomBytes(int size, long seed) {
        byte[] bytes = new byte[size];
        new java.util.Random(seed).nextBytes(bytes);
        return bytes;
    }

    /** Whether the AWS CLI runs here; CI (R2RELAY_REQUIRE_AWS_CLI=true) fails instead of falling back. */
    private static boolean awsCli() {
        boolean runs = awsCliRuns();
        if (!runs && Boolean.parseBoolean(System.getenv("R2RELAY_REQUIRE_AWS_CLI"))) {
            throw new AssertionError("the AWS CLI ('aws') does not run here (R2RELAY_REQUIRE_AWS_CLI=true)");
        }
        return runs;
    }

    private static boolean awsCliRuns() {
        try {
            Process p = new ProcessBuilder("aws", "--version").redirectErrorStream(true).start();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** {@code aws s3 cp} with the printed settings; the SDK where the CLI is not installed. */
    private static void upload(Path file, String accessKey, String secretKey, String bucket, String key,
                               String endpoint) throws Exception {
        if (awsCli()) {
            aws(accessKey, secretKey, List.of("s3", "cp", file.toString(), "s3://" + bucket + "/" + key,
                    "--endpoint-url", endpoint));
            return;
        }
        System.out.println("ReadmeRunIT: the AWS CLI is not installed; uploading with the SDK instead");
        try (S3Client s3 = S3Clients.of(new Credentials(endpoint, accessKey, secretKey))) {
            s3.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromFile(file));
        }
    }

    /** {@code aws s3 cp --recursive}, as the issue fills the other server; the SDK without the CLI. */
    private static void uploadTree(Path tree, S3ProxyServer server, String bucket) throws Exception {
        if (awsCli()) {
            aws(server.accessKey(), server.secretKey(), List.of("s3", "cp", "--recursive", tree.toString(),
                    "s3://" + bucket + "/", "--endpoint-url", server.endpoint().toString()));
            return;
        }
        System.out.println("ReadmeRunIT: the AWS CLI is not installed; filling the bucket with the SDK instead");
        try (S3Client s3 = S3Clients.of(server); Stream<Path> files = Files.walk(tree)) {
            for (Path p : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                s3.putObject(b -> b.bucket(bucket).key(key(tree, p)), RequestBody.fromFile(p));
            }
        }
    }

    private static void aws(String accessKey, String secretKey, List<String> args) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(Stream.concat(Stream.of("aws"), args.stream()).toList())
                .redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("AWS_"));
        pb.environment().putAll(Map.of("AWS_ACCESS_KEY_ID", accessKey, "AWS_SECRET_ACCESS_KEY", secretKey,
                "AWS_DEFAULT_REGION", "us-east-1", "AWS_REQUEST_CHECKSUM_CALCULATION", "when_required",
                "AWS_CONFIG_FILE", "/dev/null", "AWS_SHARED_CREDENTIALS_FILE", "/dev/null"));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("aws %s", args).isTrue();
        assertThat(p.exitValue()).as("aws %s:\n%s", args, out).isZero();
    }

    private static String key(Path root, Path file) {
        return root.relativize(file).toString().replace('\\', '/');
    }

    /** Every regular, non-hidden file below {@code root} by its key, with its SHA-256. */
    private static Map<String, String> digestsUnder(Path root) throws IOException {
        Map<String, String> digests = new TreeMap<>();
        if (!Files.isDirectory(root)) {
            return digests;
        }
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                if (!p.getFileName().toString().startsWith(".")) {
                    digests.put(key(root, p), TestObjects.sha256(Files.readAllBytes(p)));
                }
            }
        }
        return digests;
    }

    private static Map<String, BasicFileAttributes> attributesUnder(Path root) throws IOException {
        Map<String, BasicFileAttributes> attrs = new TreeMap<>();
        try (Stream<Path> files = Files.walk(root)) {
            files.filter(Files::isRegularFile).forEach(p -> {
                try {
                    attrs.put(key(root, p), Files.readAttributes(p, BasicFileAttributes.class));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
        return attrs;
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }

    /** The stand-in as its log line describes it, for the SDK fallback. */
    private record Credentials(String endpointText, String accessKey, String secretKey)
            implements dev.r2relay.support.S3Server {
        @Override
        public String name() {
            return "stand-in";
        }

        @Override
        public java.net.URI endpoint() {
            return java.net.URI.create(endpointText);
        }

        @Override
        public void createBucket(String bucket) {
            throw new UnsupportedOperationException("the stand-in's bucket exists");
        }

        @Override
        public void close() {
        }
    }
}
