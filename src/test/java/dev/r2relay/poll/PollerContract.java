package dev.r2relay.poll;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.r2relay.config.RelayConfiguration.StartupCheckException;
import dev.r2relay.state.DeliveryLedger;
import dev.r2relay.state.DeliveryLedger.Entry;
import dev.r2relay.state.DeliveryLedger.Outcome;
import dev.r2relay.support.RamTempDirs;
import dev.r2relay.support.RelayApp;
import dev.r2relay.support.S3Server;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.text.Normalizer;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.EncodingType;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * What the poller promises, whatever S3-compatible server it reads: the real application runs
 * against {@link #server()}, objects go in through a plain S3 client over HTTP, and the tests
 * look at what arrived on disk, in the ledger and (where the server counts them) in requests.
 * Each test has its own bucket, folder and application.
 */
public abstract class PollerContract {

    private static final Duration DELIVERY = Duration.ofSeconds(30);
    private static final String PART_SUFFIX = ".r2relay-part";

    @TempDir(factory = RamTempDirs.class)
    Path work;

    private S3Client s3;

    /** The server under test, started once per class by the subclass; null when it cannot run here. */
    protected abstract S3Server server();

    /** Why {@link #server()} is null: the reason every test of the class is skipped with. */
    protected String unavailableReason() {
        return "no server";
    }

    /**
     * Skips each test, with the reason, when the server cannot run here. The check is per test:
     * failsafe reports a class whose {@code @BeforeAll} aborts as "Tests run: 0", reason lost.
     */
    @BeforeEach
    void openClient() {
        assumeTrue(server() != null, unavailableReason());
        s3 = client(server().accessKey(), server().secretKey());
    }

    @AfterEach
    void closeClientAndCheckForPartialFiles() throws IOException {
        if (s3 != null) {
            s3.close();
        }
        assertThat(partialFiles()).as("temporary files left behind under %s", work).isEmpty();
    }

    // --- what lands where ---------------------------------------------------------------------

    @Test
    void nestedKeysKeepTheirFoldersBelowTheInbox() throws Exception {
        String bucket = newBucket("nested");
        put(bucket, "a/b/c/d.txt", "deep");
        put(bucket, "top.txt", "top");

        try (RelayApp app = start(bucket)) {
            awaitOutcome(app, bucket, Outcome.DELIVERED, "a/b/c/d.txt", "top.txt");
        }

        assertThat(inboxFiles()).containsExactly("a/b/c/d.txt", "top.txt");
        assertThat(inbox().resolve("a/b/c/d.txt")).hasContent("deep");
        assertThat(inbox().resolve("top.txt")).hasContent("top");
    }

    @Test
    void keysWithSpacesPlusPercentAndUnicodeFormsLandUnderTheirOwnNames() throws Exception {
        String bucket = newBucket("names");
        String nfc = Normalizer.normalize("caf\u00e9 \u00fcber.txt", Normalizer.Form.NFC);
        String nfd = Normalizer.normalize(nfc, Normalizer.Form.NFD);
        assertThat(nfc).isNotEqualTo(nfd);
        List<String> keys = List.of("with space.txt", "one+two.txt", "100%.txt", "percent%20encoded.txt",
                "dir with space/x+y%z.txt", nfc, nfd, "\u65e5\u672c/\u6587\u66f8.txt");
        for (String key : keys) {
            put(bucket, key, "body of " + key);
        }

        try (RelayApp app = start(bucket)) {
            awaitOutcome(app, bucket, Outcome.DELIVERED, keys.toArray(String[]::new));
        }

        assertThat(inboxFiles()).containsExactlyInAnyOrderElementsOf(keys);
        for (String key : keys) {
            assertThat(Files.readString(inbox().resolve(key), StandardCharsets.UTF_8))
                    .as("bytes of %s", key).isEqualTo("body of " + key);
        }
    }

    /**
     * Documented in SafeKeyPaths: an empty segment has no file of its own, so {@code a//b} is
     * rejected and {@code a/b} keeps its file, whichever is listed or delivered first; a rejected
     * {@code x//y} does not make {@code x} a folder.
     */
    /** XML 1.0 cannot carry U+0001: listed as is, such a key would make its whole page unreadable. */
    @Test
    void aKeyWithAControlCharacterIsListedAndDeliveredLikeTheOthers() throws Exception {
        String bucket = newBucket("control-char");
        // first in the bucket: the start-up check and the health probe list one key, this one
        String odd = "odd/\u0001.txt";
        put(bucket, "odd/a.txt", "plain");
        String how = putOrStoreDirectly(bucket, odd, "control");
        assumeTrue(listKeys(bucket).contains(odd),
                server().name() + " did not store the key 'odd/\\u0001.txt' (" + how + ")");

        try (RelayApp app = start(bucket)) {
            awaitOutcome(app, bucket, Outcome.DELIVERED, "odd/a.txt", odd);
        }

        assertThat(inbox().resolve("odd/a.txt")).hasContent("plain");
        assertThat(inbox().resolve(odd)).hasContent("control");
    }

    @Test
    void keyWithAnEmptySegmentIsRejectedAndTheKeyWithoutItKeepsItsFile() throws Exception {
        String bucket = newBucket("double-slash");
        put(bucket, "a/b", "single");
        put(bucket, "x", "not a folder");
        String how = putOrStoreDirectly(bucket, "a//b", "double");
        putOrStoreDirectly(bucket, "x//y", "would make x a folder");
        assumeTrue(listKeys(bucket).contains("a//b"),
                server().name() + " did not store the key 'a//b' as sent (" + how + "; it holds "
                        + listKeys(bucket) + ")");

        try (RelayApp app = start(bucket)) {
            awaitOutcome(app, bucket, Outcome.DELIVERED, "a/b", "x");
            awaitOutcome(app, bucket, Outcome.REJECTED, "a//b", "x//y");
            assertThat(app.ledger().entry(bucket, "a//b").orElseThrow().reason())
                    .contains("empty path segment ('//')");
            awaitMorePolls(app);
            if (server().getCount(bucket) >= 0) {
                assertThat(server().getCount(bucket)).as("GETs: only a/b and x").isEqualTo(2);
            }
        }

        assertThat(inboxFiles()).containsExactly("a/b", "x");
        assertThat(inbox().resolve("a/b")).hasContent("single");
        assertThat(inbox().resolve("x")).hasContent("not a folder");
    }

    @Test
    void anEmptyObjectArrivesAsAnEmptyFile() throws Exception {
        String bucket = newBucket("empty");
        put(bucket, "empty.bin", new byte[0]);

        try (RelayApp app = start(bucket)) {
            awaitOutcome(app, bucket, Outcome.DELIVERED, "empty.bin");
        }

        assertThat(inboxFiles()).containsExactly("empty.bin");
        assertThat(inbox().resolve("empty.bin")).isEmptyFile();
    }

    @Test
    void aTwentyMebibyteObjectArrivesByteIdentical() throws Exception {
        String bucket = newBucket("large");
        byte[] body = new byte[20 * 1024 * 1024];
        new Random(20).nextBytes(body);
        put(bucket, "big/random.bin", body);

        try (RelayApp app = start(bucket)) {
            awaitOutcome(app, bucket, Outcome.DELIVERED, "big/random.bin");
            assertThat(app.ledger().entry(bucket, "big/random.bin").orElseThrow().size()).isEqualTo(body.length);
        }

        Path file = inbox().resolve("big/random.bin");
        assertThat(file).hasSize(body.length);
        assertThat(digest("SHA-256", file)).isEqualTo(digest("SHA-256", body));
        assertThat(digest("MD5", file)).isEqualTo(digest("MD5", body));
    }

    @Test
    void deliversAll2500ObjectsAcrossListingPages() throws Exception {
        String bucket = newBucket("many");
        int count = 2500;
        List<String> keys = IntStream.range(0, count).mapToObj(i -> String.format("many/k-%05d.txt", i)).toList();
        ExecutorService uploads = Executors.newFixedThreadPool(16);
        try {
            CompletableFuture.allOf(keys.stream()
                    .map(k -> CompletableFuture.runAsync(() -> put(bucket, k, k), uploads))
                    .toArray(CompletableFuture[]::new)).join();
        } finally {
            uploads.shutdown();
        }
        assertThat(listKeys(bucket)).hasSize(count);

        try (RelayApp app = start(bucket, "relay.concurrency", "16")) {
            // one ledger row per key: the count reaches 2,500 only when every key is settled
            await().atMost(Duration.ofSeconds(120)).until(() -> app.ledger().count() >= count);
        }

        assertThat(inboxFiles()).containsExactlyElementsOf(keys);
        for (String key : keys) {
            assertThat(Files.readString(inbox().resolve(key))).isEqualTo(key);
        }
    }

    @Test
    void gzipEncodedObjectIsDeliveredAsTheStoredCompressedBytes() throws Exception {
        String bucket = newBucket("gzip");
        String text = "line of text that compresses well\n".repeat(2000);
        byte[] gzipped = gzip(text.getBytes(StandardCharsets.UTF_8));
        s3.putObject(b -> b.bucket(bucket).key("logs/events.jsonl.gz").contentEncoding("gzip")
                .contentType("application/x-ndjson"), RequestBody.fromBytes(gzipped));

        try (RelayApp app = start(bucket)) {
            awaitOutcome(app, bucket, Outcome.DELIVERED, "logs/events.jsonl.gz");
        }

        Path file = inbox().resolve("logs/events.jsonl.gz");
        assertThat(file).hasSize(gzipped.length);
        assertThat(digest("SHA-256", file)).isEqualTo(digest("SHA-256", gzipped));
        assertThat(gunzip(Files.readAllBytes(file))).isEqualTo(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void keyThatIsAlsoTheFolderOfOtherKeysIsRejectedAndTheFolderWins() throws Exception {
        String bucket = newBucket("folder-wins");
        put(bucket, "x/y", "would-be file");
        put(bucket, "x/y/z", "inner");

        try (RelayApp app = start(bucket)) {
            awaitOutcome(app, bucket, Outcome.DELIVERED, "x/y/z");
            awaitOutcome(app, bucket, Outcome.REJECTED, "x/y");
            assertThat(app.ledger().entry(bucket, "x/y").orElseThrow().reason()).contains("folder");
        }

        assertThat(inboxFiles()).containsExactly("x/y/z");
        assertThat(inbox().resolve("x/y")).isDirectory();
        assertThat(inbox().resolve("x/y/z")).hasContent("inner");
    }

    @Test
    void keyBelowAnAlreadyDeliveredFileIsRejectedAndTheFileKept() throws Exception {
        String bucket = newBucket("file-first");
        put(bucket, "p", "delivered first");

        try (RelayApp app = start(bucket)) {
            awaitOutcome(app, bucket, Outcome.DELIVERED, "p");
            FileTime before = Files.getLastModifiedTime(inbox().resolve("p"));
            put(bucket, "p/q", "arrives later");
            awaitOutcome(app, bucket, Outcome.REJECTED, "p/q");
            assertThat(app.ledger().entry(bucket, "p/q").orElseThrow().reason()).contains("already has a file");
            assertThat(Files.getLastModifiedTime(inbox().resolve("p"))).isEqualTo(before);
        }

        assertThat(inboxFiles()).containsExactly("p");
        assertThat(inbox().resolve("p")).hasContent("delivered first");
    }

    @Test
    void folderMarkersAreSkippedWithoutFileOrError() throws Exception {
        String bucket = newBucket("markers");
        put(bucket, "folder/", new byte[0]);
        put(bucket, "folder/inside.txt", "inside");
        put(bucket, "lonely/", new byte[0]);

        try (RelayApp app = start(bucket)) {
            awaitOutcome(app, bucket, Outcome.DELIVERED, "folder/inside.txt");
            awaitMorePolls(app);
            assertThat(app.ledger().entry(bucket, "folder/")).isEmpty();
            assertThat(app.ledger().entry(bucket, "lonely/")).isEmpty();
            assertThat(app.ledger().count()).isEqualTo(1);
        }

        assertThat(inboxFiles()).containsExactly("folder/inside.txt");
        assertThat(inbox().resolve("lonely")).doesNotExist();
    }

    // --- unsafe keys --------------------------------------------------------------------------

    @Test
    void unsafeKeysAreRejectedAndNothingLandsOutsideTheInbox() throws Exception {
        String bucket = newBucket("unsafe");
        Path absolute = Path.of("/abs.txt");
        boolean absoluteExisted = Files.exists(absolute);
        put(bucket, "safe.txt", "safe");
        Map<String, String> accepted = putUnsafeKeys(bucket);

        try (RelayApp app = start(bucket)) {
            awaitOutcome(app, bucket, Outcome.DELIVERED, "safe.txt");
            awaitOutcome(app, bucket, Outcome.REJECTED, accepted.keySet().toArray(String[]::new));
            awaitMorePolls(app);
            for (Map.Entry<String, String> unsafe : accepted.entrySet()) {
                assertThat(app.ledger().entry(bucket, unsafe.getKey()).orElseThrow().reason())
                        .as("reason recorded for %s", unsafe.getKey()).contains(unsafe.getValue());
            }
        }

        // keys the server stored under another name than sent are ordinary keys inside the inbox
        Set<String> expected = new TreeSet<>();
        for (String key : listKeys(bucket)) {
            if (!accepted.containsKey(key)) {
                expected.add("inbox/" + key);
            }
        }
        assertThat(filesUnder(work).stream().filter(f -> !f.startsWith("state/")).toList())
                .containsExactlyElementsOf(expected);
        assertThat(Files.exists(absolute)).as("/abs.txt written").isEqualTo(absoluteExisted);
        assertThat(partialFiles()).isEmpty();
    }

    @Test
    void rejectedKeysAreNeverDownloaded() throws Exception {
        assumeServerCounts();
        String bucket = newBucket("unsafe-gets");
        put(bucket, "safe.txt", "safe");
        Map<String, String> accepted = putUnsafeKeys(bucket);

        try (RelayApp app = start(bucket)) {
            awaitOutcome(app, bucket, Outcome.DELIVERED, "safe.txt");
            awaitOutcome(app, bucket, Outcome.REJECTED, accepted.keySet().toArray(String[]::new));
            awaitMorePolls(app);
            long deliverable = listKeys(bucket).stream().filter(k -> !accepted.containsKey(k)).count();
            assertThat(server().getCount(bucket)).as("GETs: only the safe keys").isEqualTo(deliverable);
        }
    }

    // --- exactly once -------------------------------------------------------------------------

    @Test
    void restartDoesNotDeliverAgain() throws Exception {
        String bucket = newBucket("restart");
        List<String> keys = List.of("r/one.txt", "r/two.txt", "three.txt");
        for (String key : keys) {
            put(bucket, key, "content " + key);
        }
        Map<String, String> before;
        Map<String, Entry> ledgerBefore;
        try (RelayApp first = start(bucket)) {
            awaitOutcome(first, bucket, Outcome.DELIVERED, keys.toArray(String[]::new));
            awaitMorePolls(first);
            before = fileIdentities();
            ledgerBefore = entries(first.ledger(), bucket, keys);
        }

        try (RelayApp second = start(bucket)) {
            awaitPolls(second, 3);
            assertThat(entries(second.ledger(), bucket, keys)).isEqualTo(ledgerBefore);
            assertThat(second.ledger().count()).isEqualTo(keys.size());
        }
        assertThat(fileIdentities()).isEqualTo(before);
    }

    @Test
    void restartDoesNotDownloadDeliveredObjectsAgain() throws Exception {
        assumeServerCounts();
        String bucket = newBucket("restart-gets");
        put(bucket, "one.txt", "1");
        put(bucket, "two.txt", "2");
        try (RelayApp first = start(bucket)) {
            awaitOutcome(first, bucket, Outcome.DELIVERED, "one.txt", "two.txt");
            awaitMorePolls(first);
        }
        long gets = server().getCount(bucket);
        long lists = server().listCount(bucket);
        assertThat(gets).isEqualTo(2);

        try (RelayApp second = start(bucket)) {
            awaitPolls(second, 3);
            assertThat(server().listCount(bucket)).as("the second app listed").isGreaterThan(lists + 2);
            assertThat(server().getCount(bucket)).as("GETs after the restart").isEqualTo(gets);
        }
    }

    /** A poll that outlasts relay.poll-interval must finish before the next starts. */
    @Test
    void eachObjectIsDownloadedOnceWhenAPollOutlastsTheInterval() throws Exception {
        assumeServerCounts();
        String bucket = newBucket("slow-polls");
        int count = 300;
        ExecutorService uploads = Executors.newFixedThreadPool(8);
        try {
            CompletableFuture.allOf(IntStream.range(0, count)
                    .mapToObj(i -> CompletableFuture.runAsync(() -> put(bucket, "s/" + i, "object " + i), uploads))
                    .toArray(CompletableFuture[]::new)).join();
        } finally {
            uploads.shutdown();
        }

        try (RelayApp app = start(bucket, "relay.poll-interval", "20", "relay.concurrency", "2")) {
            await().atMost(DELIVERY).until(() -> app.ledger().count() >= count);
            awaitMorePolls(app);
            assertThat(server().getCount(bucket)).as("GETs for %d objects", count).isEqualTo(count);
        }
        assertThat(inboxFiles()).hasSize(count);
    }

    @Test
    void overwrittenObjectIsDeliveredAgainWithTheNewBytes() throws Exception {
        String bucket = newBucket("overwrite");
        put(bucket, "doc.txt", "version one");

        try (RelayApp app = start(bucket)) {
            awaitOutcome(app, bucket, Outcome.DELIVERED, "doc.txt");
            assertThat(inbox().resolve("doc.txt")).hasContent("version one");
            String firstEtag = app.ledger().entry(bucket, "doc.txt").orElseThrow().etag();

            put(bucket, "doc.txt", "version two, longer");
            String md5 = digest("MD5", "version two, longer".getBytes(StandardCharsets.UTF_8));
            await().atMost(DELIVERY).until(() -> md5.equals(etagOf(app, bucket, "doc.txt")));
            assertThat(md5).isNotEqualTo(firstEtag);
        }

        assertThat(inboxFiles()).containsExactly("doc.txt");
        assertThat(inbox().resolve("doc.txt")).hasContent("version two, longer");
    }

    @Test
    void deleteAfterDeliveryRemovesTheObjectOnceDelivered() throws Exception {
        String bucket = newBucket("delete");
        put(bucket, "d/one.txt", "one");
        put(bucket, "two.txt", "two");

        try (RelayApp app = start(bucket, "relay.after-delivery", "delete")) {
            awaitOutcome(app, bucket, Outcome.DELIVERED, "d/one.txt", "two.txt");
            await().atMost(DELIVERY).until(() -> listKeys(bucket).isEmpty());
            Map<String, String> files = fileIdentities();
            Map<String, Entry> ledger = entries(app.ledger(), bucket, List.of("d/one.txt", "two.txt"));
            awaitMorePolls(app);
            assertThat(fileIdentities()).isEqualTo(files);
            assertThat(entries(app.ledger(), bucket, List.of("d/one.txt", "two.txt"))).isEqualTo(ledger);
        }

        assertThat(inboxFiles()).containsExactly("d/one.txt", "two.txt");
        assertThat(inbox().resolve("d/one.txt")).hasContent("one");
        assertThat(inbox().resolve("two.txt")).hasContent("two");
    }

    @Test
    void moveAfterDeliveryArchivesTheObjectOutsideThePolledPrefix() throws Exception {
        String bucket = newBucket("move");
        put(bucket, "incoming/report.csv", "a,b\n1,2\n");
        put(bucket, "elsewhere.txt", "not polled");

        try (RelayApp app = start(bucket, "r2.prefix", "incoming/", "relay.after-delivery", "move",
                "relay.move-prefix", "archived/")) {
            awaitOutcome(app, bucket, Outcome.DELIVERED, "incoming/report.csv");
            await().atMost(DELIVERY).until(() -> listKeys(bucket).equals(
                    List.of("archived/incoming/report.csv", "elsewhere.txt")));
            Map<String, String> files = fileIdentities();
            awaitMorePolls(app);
            assertThat(fileIdentities()).isEqualTo(files);
            assertThat(app.ledger().count()).isEqualTo(1);
        }

        assertThat(inboxFiles()).containsExactly("incoming/report.csv");
        assertThat(inbox().resolve("incoming/report.csv")).hasContent("a,b\n1,2\n");
        assertThat(s3.getObjectAsBytes(b -> b.bucket(bucket).key("archived/incoming/report.csv")).asUtf8String())
                .isEqualTo("a,b\n1,2\n");
    }

    // --- start-up errors ----------------------------------------------------------------------

    @Test
    void wrongSecretFailsStartNamingTheSecret() throws Exception {
        String bucket = newBucket("wrong-secret");
        String wrong = "not-the-secret-" + ThreadLocalRandom.current().nextInt(1_000_000);
        assumeTrue(refuses(server().accessKey(), wrong, bucket),
                server().name() + " accepts any secret, so a wrong one cannot be shown to fail");
        Map<String, String> settings = settings(bucket);
        settings.put("r2.secret-key", wrong);

        String message = startFailure(settings);

        assertThat(message).contains("secret").doesNotContain(wrong).doesNotContain(server().secretKey());
    }

    @Test
    void unknownAccessKeyFailsStartNamingTheAccessKey() throws Exception {
        String bucket = newBucket("wrong-key");
        assumeTrue(refuses("AKIDUNKNOWN000000000", server().secretKey(), bucket),
                server().name() + " accepts any access key, so an unknown one cannot be shown to fail");
        Map<String, String> settings = settings(bucket);
        settings.put("r2.access-key", "AKIDUNKNOWN000000000");

        String message = startFailure(settings);

        assertThat(message).contains("access key").doesNotContain(server().secretKey());
    }

    @Test
    void unknownBucketFailsStartNamingTheBucket() throws Exception {
        String bucket = "missing-" + suffix();

        String message = startFailure(settings(bucket));

        assertThat(message).contains("'" + bucket + "'").contains("does not exist");
        assertThat(inbox()).doesNotExist();
    }

    @Test
    void unreachableEndpointFailsStartWithCannotConnect() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        Map<String, String> settings = settings("unreachable-" + suffix());
        settings.put("r2.endpoint", "http://127.0.0.1:" + closedPort);
        settings.put("r2.connect-timeout", "2000");

        String message = startFailure(settings);

        assertThat(message).contains("cannot connect").contains("127.0.0.1:" + closedPort);
    }

    // --- helpers ------------------------------------------------------------------------------

    /** A fresh bucket for one test: its name plus a random suffix, 3 to 63 lowercase characters. */
    private String newBucket(String name) {
        String bucket = name + "-" + suffix();
        server().createBucket(bucket);
        return bucket;
    }

    private static String suffix() {
        return Integer.toString(ThreadLocalRandom.current().nextInt(1 << 30), 36);
    }

    private S3Client client(String accessKey, String secretKey) {
        return S3Client.builder()
                .endpointOverride(server().endpoint())
                .region(Region.US_EAST_1)
                .forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secretKey)))
                .build();
    }

    private void put(String bucket, String key, String body) {
        put(bucket, key, body.getBytes(StandardCharsets.UTF_8));
    }

    private void put(String bucket, String key, byte[] body) {
        s3.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromBytes(body));
    }

    /**
     * Puts the object over HTTP or, when the server refuses the key there, through the server's
     * own means; says which happened.
     */
    private String putOrStoreDirectly(String bucket, String key, String body) {
        try {
            put(bucket, key, body);
            return "stored over HTTP";
        } catch (SdkException refused) {
            if (server().storeDirectly(bucket, key, body.getBytes(StandardCharsets.UTF_8))) {
                return "refused over HTTP (" + refused.getMessage() + "), stored directly";
            }
            return "refused over HTTP: " + refused.getMessage();
        }
    }

    /**
     * Uploads the keys a file target must refuse, each with a word its rejection reason holds.
     * Returns those the server stored under exactly that key; some servers refuse or rename some.
     */
    private Map<String, String> putUnsafeKeys(String bucket) {
        Map<String, String> unsafe = new LinkedHashMap<>();
        unsafe.put("../escape.txt", "'..'");
        unsafe.put("a/../../escape.txt", "'..'");
        unsafe.put("/abs.txt", "'/'");
        unsafe.put("back\\slash.txt", "backslash");
        unsafe.put("long/" + "s".repeat(300) + ".txt", "longer than 255 bytes");
        for (String key : unsafe.keySet()) {
            try {
                put(bucket, key, "must not land: " + key);
            } catch (SdkException refused) {
                // the server does not take this key; nothing to relay
            }
        }
        List<String> stored = listKeys(bucket);
        unsafe.keySet().retainAll(stored);
        assumeFalse(unsafe.isEmpty(), server().name() + " stored none of the unsafe keys as sent: " + stored);
        return unsafe;
    }

    private List<String> listKeys(String bucket) {
        return s3.listObjectsV2Paginator(b -> b.bucket(bucket).encodingType(EncodingType.URL)).contents().stream()
                .map(S3Object::key).toList();
    }

    /** True when the server refuses a listing signed with these credentials. */
    private boolean refuses(String accessKey, String secretKey, String bucket) {
        try (S3Client other = client(accessKey, secretKey)) {
            other.listObjectsV2(b -> b.bucket(bucket).maxKeys(1));
            return false;
        } catch (SdkException refused) {
            return true;
        }
    }

    private void assumeServerCounts() {
        assumeTrue(server().getCount("any") >= 0 && server().listCount("any") >= 0,
                server().name() + " cannot count GET and list requests server-side");
    }

    private Map<String, String> settings(String bucket) {
        return RelayApp.settingsFor(server(), bucket, work);
    }

    private RelayApp start(String bucket, String... extra) throws Exception {
        Map<String, String> settings = settings(bucket);
        for (int i = 0; i < extra.length; i += 2) {
            settings.put(extra[i], extra[i + 1]);
        }
        return RelayApp.start(settings);
    }

    /** Starts the application expecting it to refuse; returns the start-up check's message. */
    private static String startFailure(Map<String, String> settings) {
        Throwable thrown = catchThrowable(() -> RelayApp.start(settings).close());
        assertThat(thrown).as("start-up should fail").isNotNull();
        Throwable cause = thrown;
        while (cause != null && !(cause instanceof StartupCheckException)) {
            cause = cause.getCause();
        }
        assertThat(cause).as("a start-up check failure in %s", thrown).isNotNull();
        return cause.getMessage();
    }

    private static void awaitOutcome(RelayApp app, String bucket, Outcome outcome, String... keys) {
        for (String key : keys) {
            await("%s of %s".formatted(outcome, key)).atMost(DELIVERY).until(() -> app.ledger().entry(bucket, key)
                    .map(e -> e.outcome() == outcome).orElse(false));
        }
    }

    /** Waits until a whole poll has run after this moment. */
    private static void awaitMorePolls(RelayApp app) {
        awaitPolls(app, app.completedPolls() + 2);
    }

    private static void awaitPolls(RelayApp app, long polls) {
        await("%d polls".formatted(polls)).atMost(DELIVERY).until(() -> app.completedPolls() >= polls);
    }

    private static String etagOf(RelayApp app, String bucket, String key) {
        return app.ledger().entry(bucket, key).map(Entry::etag).orElse(null);
    }

    private static Map<String, Entry> entries(DeliveryLedger ledger, String bucket, List<String> keys) {
        Map<String, Entry> entries = new TreeMap<>();
        for (String key : keys) {
            entries.put(key, ledger.entry(bucket, key).orElseThrow());
        }
        return entries;
    }

    private Path inbox() {
        return work.resolve("inbox");
    }

    private List<String> inboxFiles() throws IOException {
        return filesUnder(inbox());
    }

    /** Regular files below {@code root}, as sorted paths relative to it with '/' separators. */
    private static List<String> filesUnder(Path root) throws IOException {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(Files::isRegularFile)
                    .map(p -> root.relativize(p).toString().replace(File.separatorChar, '/'))
                    .sorted()
                    .toList();
        }
    }

    private List<String> partialFiles() throws IOException {
        return filesUnder(work).stream().filter(f -> f.endsWith(PART_SUFFIX)).toList();
    }

    /** Each inbox file with its inode and modification time: a rewrite changes one or both. */
    private Map<String, String> fileIdentities() throws IOException {
        Map<String, String> identities = new TreeMap<>();
        for (String f : inboxFiles()) {
            BasicFileAttributes a = Files.readAttributes(inbox().resolve(f), BasicFileAttributes.class);
            identities.put(f, a.fileKey() + " " + a.lastModifiedTime().toInstant() + " " + a.size());
        }
        return identities;
    }

    private static String digest(String algorithm, Path file) throws Exception {
        MessageDigest md = MessageDigest.getInstance(algorithm);
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 16];
            int n;
            while ((n = in.read(buffer)) >= 0) {
                md.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static String digest(String algorithm, byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(bytes));
    }

    private static byte[] gzip(byte[] plain) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(plain);
        }
        return out.toByteArray();
    }

    private static byte[] gunzip(byte[] compressed) throws IOException {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(compressed))) {
            return in.readAllBytes();
        }
    }
}
