package dev.r2relay.local;

import dev.r2relay.config.SettingsException;
import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.gaul.s3proxy.AuthenticationType;
import org.gaul.s3proxy.S3Proxy;
import org.jclouds.ContextBuilder;
import org.jclouds.filesystem.FilesystemApiMetadata;
import org.jclouds.blobstore.BlobStore;
import org.jclouds.blobstore.BlobStoreContext;
import org.jclouds.blobstore.domain.Blob;
import org.jclouds.blobstore.domain.BlobMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A local stand-in for R2: S3Proxy on a loopback port, speaking the S3 API with real SigV4
 * authentication, over a folder (or any jclouds blob store). Used when no endpoint is configured.
 */
public final class EmbeddedR2 implements AutoCloseable {

    /** The stand-in's credentials; they protect nothing but local files and are printed for users. */
    public static final String ACCESS_KEY = "r2-relay-local";
    public static final String SECRET_KEY = "r2-relay-local-secret";

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedR2.class);

    private final S3Proxy proxy;
    private final BlobStoreContext context;
    private final BlobStore store;
    private final URI endpoint;

    private EmbeddedR2(S3Proxy proxy, BlobStoreContext context, BlobStore store, URI endpoint) {
        this.proxy = proxy;
        this.context = context;
        this.store = store;
        this.endpoint = endpoint;
    }

    /** Starts S3Proxy over the folder {@code root}, on {@code port} (0 for any free port). */
    public static EmbeddedR2 onFolder(Path root, int port, String accessKey, String secretKey) throws Exception {
        Files.createDirectories(root);
        Properties overrides = new Properties();
        overrides.setProperty("jclouds.filesystem.basedir", root.toAbsolutePath().toString());
        BlobStoreContext context = ContextBuilder.newBuilder(new FilesystemApiMetadata())
                .overrides(overrides)
                .buildView(BlobStoreContext.class);
        return start(context, context.getBlobStore(), port, accessKey, secretKey);
    }

    /** Starts S3Proxy in front of {@code store}; the caller keeps ownership of the store. */
    public static EmbeddedR2 onStore(BlobStore store, int port, String accessKey, String secretKey) throws Exception {
        return start(null, store, port, accessKey, secretKey);
    }

    private static EmbeddedR2 start(BlobStoreContext context, BlobStore store, int port, String accessKey,
                                    String secretKey) throws Exception {
        S3Proxy proxy = S3Proxy.builder()
                .blobStore(store)
                .endpoint(URI.create("http://127.0.0.1:" + port))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, accessKey, secretKey)
                .ignoreUnknownHeaders(true)
                .build();
        try {
            proxy.start();
        } catch (IOException e) {
            if (context != null) {
                context.close();
            }
            if (e instanceof BindException || e.getCause() instanceof BindException) {
                // a SettingsException is what the command line reports as it is, naming the setting
                throw new SettingsException("relay.embedded.port (RELAY_EMBEDDED_PORT): port " + port
                        + " on 127.0.0.1 is taken by another process; choose another, or 0 for any free port");
            }
            throw e;
        }
        while (!"STARTED".equals(proxy.getState())) {
            Thread.onSpinWait();
        }
        return new EmbeddedR2(proxy, context, store, URI.create("http://127.0.0.1:" + proxy.getPort()));
    }

    public URI endpoint() {
        return endpoint;
    }

    public BlobStore store() {
        return store;
    }

    /** Creates the bucket when it does not exist; works for any name, including region 'auto'. */
    public void ensureBucket(String bucket) {
        if (!store.containerExists(bucket)) {
            store.createContainerInLocation(null, bucket);
        }
    }

    /**
     * Copies every file below {@code samples} into {@code bucket}, its path below the folder as its
     * key, unless an object with the same content is already there. Returns how many were copied.
     */
    public int seed(String bucket, Path samples) throws IOException {
        ensureBucket(bucket);
        if (!Files.isDirectory(samples)) {
            return 0;
        }
        List<Path> files;
        try (Stream<Path> walk = Files.walk(samples)) {
            files = walk.filter(Files::isRegularFile).sorted().toList();
        }
        int copied = 0;
        for (Path file : files) {
            String key = samples.relativize(file).toString().replace('\\', '/');
            BlobMetadata existing = store.blobMetadata(bucket, key);
            if (existing != null && md5(file).equalsIgnoreCase(stripQuotes(existing.getETag()))) {
                continue;
            }
            Blob blob = store.blobBuilder(key)
                    .payload(file.toFile())
                    .contentLength(Files.size(file))
                    .contentType(contentType(file))
                    .build();
            store.putBlob(bucket, blob);
            copied++;
        }
        LOG.debug("Seeded {} of {} sample files into {}", copied, files.size(), bucket);
        return copied;
    }

    private static String contentType(Path file) {
        try {
            String probed = Files.probeContentType(file);
            return probed == null ? "application/octet-stream" : probed;
        } catch (IOException e) {
            return "application/octet-stream";
        }
    }

    private static String stripQuotes(String etag) {
        return etag == null ? "" : etag.replace("\"", "");
    }

    private static String md5(Path file) throws IOException {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("MD5"))) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(((DigestInputStream) in).getMessageDigest().digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() throws Exception {
        proxy.stop();
        if (context != null) {
            context.close();
        }
    }
}
