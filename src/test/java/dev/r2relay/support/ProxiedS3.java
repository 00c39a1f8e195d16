package dev.r2relay.support;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * What the fault tests share: one S3Proxy (and a client of its own) for the class, and for each
 * test a {@link FaultProxy} in front of it and a fresh bucket. Register it as a static field with
 * {@code @RegisterExtension}; the test's own {@code @AfterEach} (stopping the application) runs
 * before the proxy closes.
 */
public final class ProxiedS3 implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback,
        AfterEachCallback {

    private final String bucketPrefix;
    private S3ProxyServer server;
    private S3Client s3;
    private FaultProxy proxy;
    private String bucket;

    /** Buckets are named {@code <bucketPrefix>-<random>}. */
    public ProxiedS3(String bucketPrefix) {
        this.bucketPrefix = bucketPrefix;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        server = new S3ProxyServer();
        s3 = S3Clients.of(server);
    }

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        proxy = new FaultProxy(server.endpoint());
        bucket = bucketPrefix + "-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 30), 36);
        server.createBucket(bucket);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        proxy.close();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        s3.close();
        server.close();
    }

    public S3ProxyServer server() {
        return server;
    }

    /** A client straight to the server, past the proxy: what the test puts is never faulted. */
    public S3Client s3() {
        return s3;
    }

    public FaultProxy proxy() {
        return proxy;
    }

    /** This test's bucket. */
    public String bucket() {
        return bucket;
    }

    /** The application's settings for this test's bucket, reading through the proxy. */
    public Map<String, String> settings(Path work) {
        Map<String, String> p = RelayApp.settingsFor(server, bucket, work);
        p.put("r2.endpoint", proxy.endpoint().toString());
        return p;
    }
}
