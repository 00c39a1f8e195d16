package dev.r2relay.support;

import dev.r2relay.local.EmbeddedR2;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.jclouds.ContextBuilder;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.BlobStoreContext;
import org.jclouds.blobstore.TransientApiMetadata;
import org.jclouds.blobstore.domain.Blob;
import org.jclouds.blobstore.domain.PageSet;
import org.jclouds.blobstore.domain.StorageMetadata;
import org.jclouds.blobstore.options.GetOptions;
import org.jclouds.blobstore.options.ListContainerOptions;
import org.jclouds.blobstore.util.ForwardingBlobStore;

/**
 * S3Proxy in-process over an in-memory store, with real SigV4 authentication against a known
 * key and secret. Counts the GET and list requests it serves, per bucket.
 */
public final class S3ProxyServer implements S3Server {

    public static final String ACCESS_KEY = "AKIDTESTRELAY0000001";
    public static final String SECRET_KEY = "test-secret-1f0c2a7e9b";

    private final String accessKey;
    private final String secretKey;
    private final BlobStoreContext context;
    private final EmbeddedR2 proxy;
    private final Map<String, AtomicLong> gets = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> lists = new ConcurrentHashMap<>();

    public S3ProxyServer() {
        this(ACCESS_KEY, SECRET_KEY);
    }

    /** A server that accepts only {@code accessKey} with {@code secretKey}, for tests that need their own. */
    public S3ProxyServer(String accessKey, String secretKey) {
        this.accessKey = accessKey;
        this.secretKey = secretKey;
        this.context = ContextBuilder.newBuilder(new TransientApiMetadata()).buildView(BlobStoreContext.class);
        BlobStore counting = new ForwardingBlobStore(context.getBlobStore()) {
            @Override
            public Blob getBlob(String container, String name) {
                count(gets, container);
                return super.getBlob(container, name);
            }

            @Override
            public Blob getBlob(String container, String name, GetOptions options) {
                count(gets, container);
                return super.getBlob(container, name, options);
            }

            @Override
            public PageSet<? extends StorageMetadata> list(String container) {
                count(lists, container);
                return super.list(container);
            }

            @Override
            public PageSet<? extends StorageMetadata> list(String container, ListContainerOptions options) {
                count(lists, container);
                return super.list(container, options);
            }
        };
        try {
            this.proxy = EmbeddedR2.onStore(counting, 0, accessKey, secretKey);
        } catch (Exception e) {
            context.close();
            throw new IllegalStateException("S3Proxy did not start", e);
        }
    }

    private static void count(Map<String, AtomicLong> counters, String bucket) {
        counters.computeIfAbsent(bucket, b -> new AtomicLong()).incrementAndGet();
    }

    @Override
    public String name() {
        return "S3Proxy";
    }

    @Override
    public URI endpoint() {
        return proxy.endpoint();
    }

    @Override
    public String accessKey() {
        return accessKey;
    }

    @Override
    public String secretKey() {
        return secretKey;
    }

    @Override
    public void createBucket(String bucket) {
        proxy.ensureBucket(bucket);
    }

    /** Puts the blob straight into the in-memory store: S3Proxy's HTTP front answers 403 to '//' keys. */
    @Override
    public boolean storeDirectly(String bucket, String key, byte[] body) {
        BlobStore store = context.getBlobStore();
        store.putBlob(bucket, store.blobBuilder(key).payload(body).build());
        return true;
    }

    @Override
    public long getCount(String bucket) {
        return gets.getOrDefault(bucket, new AtomicLong()).get();
    }

    @Override
    public long listCount(String bucket) {
        return lists.getOrDefault(bucket, new AtomicLong()).get();
    }

    @Override
    public void close() {
        try {
            proxy.close();
        } catch (Exception e) {
            // the test is over
        }
        context.close();
    }
}
