package dev.r2relay.support;

import java.net.URI;

/** A real S3-compatible server on loopback that a test points r2-relay at. */
public interface S3Server extends AutoCloseable {

    String name();

    URI endpoint();

    String accessKey();

    String secretKey();

    /** Creates a bucket through the server's own means (S3Proxy refuses CreateBucket in region auto). */
    void createBucket(String bucket);

    /**
     * Stores an object through the server's own means rather than over HTTP, for keys its HTTP
     * front refuses; false when the server has no such means.
     */
    default boolean storeDirectly(String bucket, String key, byte[] body) {
        return false;
    }

    /** GET requests the server has answered for objects of {@code bucket}, or -1 when it cannot count. */
    default long getCount(String bucket) {
        return -1;
    }

    /** List requests the server has answered for {@code bucket}, or -1 when it cannot count. */
    default long listCount(String bucket) {
        return -1;
    }

    @Override
    void close();
}
