package dev.r2relay.client;

import dev.r2relay.config.RelaySettings;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * Builds the one S3 client every route shares, with the switches R2 needs: checksums only when
 * an operation requires them, no aws-chunked uploads, path-style addressing, a bounded
 * connection pool, timeouts, and retries of 5xx and 429 with exponential backoff and jitter.
 */
public final class R2ClientFactory {

    private R2ClientFactory() {
    }

    public static S3Client client(RelaySettings settings) {
        return client(settings, new RequestCounter());
    }

    /** The client, counting its requests in {@code counter}. */
    public static S3Client client(RelaySettings settings, RequestCounter counter) {
        return S3Client.builder()
                .endpointOverride(settings.endpoint().orElseThrow())
                .region(Region.of(settings.region()))
                .credentialsProvider(StaticCredentialsProvider.create(credentials(settings)))
                .forcePathStyle(settings.pathStyle())
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .serviceConfiguration(S3Configuration.builder()
                        .chunkedEncodingEnabled(false)
                        .build())
                .httpClientBuilder(ApacheHttpClient.builder()
                        .maxConnections(settings.maxConnections())
                        .connectionTimeout(settings.connectTimeout())
                        .connectionAcquisitionTimeout(settings.readTimeout())
                        .socketTimeout(settings.readTimeout())
                        .tcpKeepAlive(true))
                .overrideConfiguration(o -> o
                        .retryStrategy(AwsRetryStrategy.standardRetryStrategy().toBuilder()
                                .maxAttempts(settings.maxAttempts())
                                .build())
                        .addExecutionInterceptor(new StoredBytesInterceptor())
                        .addExecutionInterceptor(counter))
                .build();
    }

    public static S3Presigner presigner(RelaySettings settings) {
        return S3Presigner.builder()
                .endpointOverride(settings.endpoint().orElseThrow())
                .region(Region.of(settings.region()))
                .credentialsProvider(StaticCredentialsProvider.create(credentials(settings)))
                .serviceConfiguration(S3Configuration.builder()
                        .pathStyleAccessEnabled(settings.pathStyle())
                        .build())
                .build();
    }

    private static AwsCredentials credentials(RelaySettings settings) {
        if (settings.sessionToken() != null) {
            return AwsSessionCredentials.create(settings.accessKey(), settings.secretKey(), settings.sessionToken());
        }
        return AwsBasicCredentials.create(settings.accessKey(), settings.secretKey());
    }

    /**
     * Asks for the bytes as stored. R2 decompresses objects stored with Content-Encoding: gzip
     * for clients that do not accept gzip; the SDK's HTTP client never decodes, so accepting
     * gzip keeps the delivered bytes equal to the stored bytes and to the listed size and ETag.
     */
    static final class StoredBytesInterceptor implements ExecutionInterceptor {
        @Override
        public SdkHttpRequest modifyHttpRequest(Context.ModifyHttpRequest context,
                                                ExecutionAttributes executionAttributes) {
            if (context.request() instanceof GetObjectRequest) {
                return context.httpRequest().toBuilder().putHeader("Accept-Encoding", "gzip").build();
            }
            return context.httpRequest();
        }
    }
}
