package dev.r2relay.support;

import java.net.URI;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.localstack.LocalStackContainer;
import org.testcontainers.utility.DockerImageName;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** LocalStack's S3 through Testcontainers; needs a Docker engine. */
public final class LocalStackServer implements S3Server {

    public static final DockerImageName IMAGE = DockerImageName.parse("localstack/localstack:4.4");

    private final LocalStackContainer container;

    private LocalStackServer(LocalStackContainer container) {
        this.container = container;
    }

    /** True when a Docker engine answers; LocalStack tests are skipped otherwise. */
    public static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            return false;
        }
    }

    public static LocalStackServer start() {
        LocalStackContainer container = new LocalStackContainer(IMAGE).withServices(LocalStackContainer.Service.S3);
        container.start();
        return new LocalStackServer(container);
    }

    @Override
    public String name() {
        return "LocalStack";
    }

    @Override
    public URI endpoint() {
        return container.getEndpoint();
    }

    @Override
    public String accessKey() {
        return container.getAccessKey();
    }

    @Override
    public String secretKey() {
        return container.getSecretKey();
    }

    @Override
    public void createBucket(String bucket) {
        try (S3Client s3 = S3Client.builder()
                .endpointOverride(endpoint())
                .region(Region.of(container.getRegion()))
                .forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(accessKey(), secretKey())))
                .build()) {
            s3.createBucket(b -> b.bucket(bucket));
        }
    }

    @Override
    public void close() {
        container.stop();
    }
}
