package dev.r2relay.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.r2relay.support.RelayApp;
import dev.r2relay.support.S3ProxyServer;
import dev.r2relay.support.TestClients;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;

/** Large objects fetched as parallel byte ranges from S3Proxy, including a resumed transfer. */
class RangedDownloadTest {

    private static final int MIB = 1 << 20;
    private static S3ProxyServer server;
    private static S3Client s3;

    @TempDir
    Path work;

    @BeforeAll
    static void start() {
        server = new S3ProxyServer();
        s3 = TestClients.s3(server);
    }

    @AfterAll
    static void stop() {
        s3.close();
        server.close();
    }

    @Test
    void aLargeObjectArrivesByteIdenticalThroughParallelRanges() throws Exception {
        server.createBucket("ranged-app");
        byte[] data = random(21 * MIB + 12345, 1);
        String etag = put("ranged-app", "video/big.bin", data);
        Map<String, String> settings = RelayApp.settingsFor(server, "ranged-app", work);
        settings.put("relay.multipart-threshold", Integer.toString(8 * MIB));
        settings.put("relay.part-size", Integer.toString(4 * MIB));
        try (RelayApp app = RelayApp.start(settings)) {
            await().atMost(Duration.ofSeconds(60))
                    .until(() -> etag.equals(app.ledger().recordedEtag("ranged-app", "video/big.bin")));
        }
        assertThat(sha256(Files.readAllBytes(work.resolve("inbox/video/big.bin")))).isEqualTo(sha256(data));
        assertThat(server.getCount("ranged-app")).as("one GET per 4 MiB range").isEqualTo(6);
        assertThat(leftovers(work.resolve("inbox"))).isEmpty();
    }

    @Test
    void anInterruptedTransferResumesWithTheMissingPartsOnly() throws Exception {
        server.createBucket("ranged-resume");
        byte[] data = random(10 * MIB, 2);
        String etag = put("ranged-resume", "k.bin", data);
        Path target = work.resolve("inbox/k.bin");
        try (S3Client failing = TestClients.s3(server, new FailRangesFrom(6 * MIB))) {
            RangedDownload first = new RangedDownload(failing, MIB, 2);
            assertThatThrownBy(() -> first.download("ranged-resume", "k.bin", etag, data.length, target))
                    .hasMessageContaining("interrupted");
        }
        assertThat(target).doesNotExist();
        long getsBefore = server.getCount("ranged-resume");

        new RangedDownload(s3, MIB, 2).download("ranged-resume", "k.bin", etag, data.length, target);

        assertThat(server.getCount("ranged-resume") - getsBefore).as("only the 4 missing ranges").isEqualTo(4);
        assertThat(sha256(Files.readAllBytes(target))).isEqualTo(sha256(data));
        assertThat(leftovers(work.resolve("inbox"))).isEmpty();
    }

    @Test
    void aResumeStartsAgainWhenTheObjectChangedMeanwhile() throws Exception {
        server.createBucket("ranged-changed");
        byte[] first = random(6 * MIB, 3);
        String oldEtag = put("ranged-changed", "k.bin", first);
        Path target = work.resolve("inbox/k.bin");
        try (S3Client failing = TestClients.s3(server, new FailRangesFrom(3 * MIB))) {
            assertThatThrownBy(() -> new RangedDownload(failing, MIB, 1)
                    .download("ranged-changed", "k.bin", oldEtag, first.length, target)).isInstanceOf(Exception.class);
        }
        byte[] second = random(6 * MIB, 4);
        String newEtag = put("ranged-changed", "k.bin", second);

        assertThatThrownBy(() -> new RangedDownload(s3, MIB, 2)
                .download("ranged-changed", "k.bin", oldEtag, first.length, target))
                .isInstanceOf(IOException.class).hasMessageContaining("changed during the download");
        assertThat(target).doesNotExist();

        new RangedDownload(s3, MIB, 2).download("ranged-changed", "k.bin", newEtag, second.length, target);
        assertThat(sha256(Files.readAllBytes(target))).isEqualTo(sha256(second));
    }

    private static String put(String bucket, String key, byte[] data) {
        return s3.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromBytes(data)).eTag().replace("\"", "");
    }

    private static byte[] random(int size, long seed) {
        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        return data;
    }

    private static String sha256(byte[] data) throws Exception {
        return java.util.HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    private static java.util.List<Path> leftovers(Path folder) throws IOException {
        try (Stream<Path> files = Files.walk(folder)) {
            return files.filter(p -> p.getFileName().toString().contains(".r2relay-")).toList();
        }
    }

    /** Fails every ranged GET that starts at or after {@code from}, as a dropped connection would. */
    private static final class FailRangesFrom implements ExecutionInterceptor {
        private final long from;

        FailRangesFrom(long from) {
            this.from = from;
        }

        @Override
        public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
            if (context.request() instanceof GetObjectRequest get && get.range() != null) {
                long start = Long.parseLong(get.range().substring("bytes=".length(), get.range().indexOf('-')));
                if (start >= from) {
                    throw new IllegalStateException("transfer interrupted at byte " + start);
                }
            }
        }
    }
}
