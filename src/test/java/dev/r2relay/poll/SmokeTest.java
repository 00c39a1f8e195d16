package dev.r2relay.poll;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.support.RelayApp;
import dev.r2relay.support.S3ProxyServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

class SmokeTest {

    @TempDir
    Path work;

    @Test
    void deliversAnObject() throws Exception {
        try (S3ProxyServer server = new S3ProxyServer()) {
            server.createBucket("smoke-bucket");
            try (S3Client s3 = S3Client.builder().endpointOverride(server.endpoint()).region(Region.US_EAST_1)
                    .forcePathStyle(true).requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                    .credentialsProvider(StaticCredentialsProvider.create(
                            AwsBasicCredentials.create(server.accessKey(), server.secretKey()))).build()) {
                s3.putObject(b -> b.bucket("smoke-bucket").key("a/b.txt"), RequestBody.fromString("hello"));
            }
            try (RelayApp app = RelayApp.start(RelayApp.settingsFor(server, "smoke-bucket", work))) {
                Path file = work.resolve("inbox/a/b.txt");
                await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(file));
                assertThat(Files.readString(file, StandardCharsets.UTF_8)).isEqualTo("hello");
                assertThat(server.getCount("smoke-bucket")).isEqualTo(1);
            }
        }
    }
}
