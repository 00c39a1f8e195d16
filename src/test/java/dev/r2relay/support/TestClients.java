package dev.r2relay.support;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import java.util.List;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** Plain AWS SDK clients for tests to fill and inspect a server, independent of r2-relay's client. */
public final class TestClients {

    private TestClients() {
    }

    public static S3Client s3(S3Server server, ExecutionInterceptor... interceptors) {
        return S3Client.builder()
                .endpointOverride(server.endpoint())
                .region(Region.US_EAST_1)
                .forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(server.accessKey(), server.secretKey())))
                .overrideConfiguration(o -> o.executionInterceptors(List.of(interceptors)))
                .build();
    }
}
