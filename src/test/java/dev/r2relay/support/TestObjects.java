package dev.r2relay.support;

import java.security.MessageDigest;
import java.util.HexFormat;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** Uploads test objects to a server through the S3 API, as a producer of objects would. */
public final class TestObjects implements AutoCloseable {

    private final S3Client s3;
    private final String bucket;

    public TestObjects(S3Server server, String bucket) {
        this.bucket = bucket;
        this.s3 = S3Client.builder().endpointOverride(server.endpoint()).region(Region.US_EAST_1)
                .forcePathStyle(true).requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(server.accessKey(), server.secretKey())))
                .build();
    }

    /** Stores {@code bytes} under {@code key}; returns the object's ETag without quotes. */
    public String put(String key, byte[] bytes, String contentType) {
        String etag = s3.putObject(b -> b.bucket(bucket).key(key).contentType(contentType),
                RequestBody.fromBytes(bytes)).eTag();
        return etag.replace("\"", "");
    }

    /** Stores {@code bytes} as they are, marked with {@code contentEncoding} (gzip); returns the ETag. */
    public String put(String key, byte[] bytes, String contentType, String contentEncoding) {
        String etag = s3.putObject(b -> b.bucket(bucket).key(key).contentType(contentType)
                .contentEncoding(contentEncoding), RequestBody.fromBytes(bytes)).eTag();
        return etag.replace("\"", "");
    }

    public static String sha256(byte[] bytes) {
        return digest("SHA-256", bytes);
    }

    /** The ETag S3 gives a single-part upload of {@code bytes}. */
    public static String md5(byte[] bytes) {
        return digest("MD5", bytes);
    }

    private static String digest(String algorithm, byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance(algorithm).digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        s3.close();
    }
}
