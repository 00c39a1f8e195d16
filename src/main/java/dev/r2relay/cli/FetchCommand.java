package dev.r2relay.cli;

import dev.r2relay.client.R2ClientFactory;
import dev.r2relay.client.S3Errors;
import dev.r2relay.config.RelaySettings;
import dev.r2relay.config.SettingsException;
import dev.r2relay.delivery.AtomicFileWriter;
import dev.r2relay.local.EmbeddedR2;
import dev.r2relay.state.ObjectRef;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.camel.impl.DefaultCamelContext;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

/** {@code fetch KEY [DEST]}: one object, on demand, with the same settings and checks as the poller. */
final class FetchCommand {

    private FetchCommand() {
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length < 1 || args.length > 2 || args[0].isEmpty()) {
            err.println("r2-relay: fetch needs a KEY and at most one DEST\n");
            err.print(R2RelayMain.USAGE);
            return 2;
        }
        String key = args[0];
        String dest = args.length == 2 ? args[1] : fileName(key);
        if (dest.isEmpty() || dest.equals(".") || dest.equals("..")) {
            // 'dir/' has no file name, and 'dir/..' names a folder, not a file
            err.println("r2-relay: key '" + key + "' has no file name of its own; give a DEST");
            return 2;
        }
        PrintStream info = dest.equals("-") ? err : out;
        RelaySettings settings;
        try {
            settings = loadSettings();
        } catch (SettingsException e) {
            err.println("r2-relay: " + e.getMessage());
            return 2;
        }
        EmbeddedR2 local = null;
        try {
            if (settings.embedded()) {
                Path root = settings.localState().resolve("embedded-r2");
                local = EmbeddedR2.onFolder(root, 0, EmbeddedR2.ACCESS_KEY, EmbeddedR2.SECRET_KEY);
                local.seed(settings.bucket(), settings.samples());
                settings = settings.withEndpoint(local.endpoint(), EmbeddedR2.ACCESS_KEY, EmbeddedR2.SECRET_KEY);
            }
            try (S3Client s3 = R2ClientFactory.client(settings)) {
                return fetch(s3, settings, key, dest, info, out, err);
            }
        } catch (Exception e) {
            err.println("r2-relay: " + e.getMessage());
            return 1;
        } finally {
            if (local != null) {
                try {
                    local.close();
                } catch (Exception ignored) {
                    // the process ends next
                }
            }
        }
    }

    private static int fetch(S3Client s3, RelaySettings settings, String key, String dest, PrintStream info,
                             PrintStream out, PrintStream err) {
        String bucket = settings.bucket();
        try (ResponseInputStream<GetObjectResponse> body = s3.getObject(b -> b.bucket(bucket).key(key))) {
            GetObjectResponse meta = body.response();
            String etag = ObjectRef.bareEtag(meta.eTag());
            info.println("bucket:        " + bucket);
            info.println("key:           " + key);
            info.println("size:          " + meta.contentLength());
            info.println("etag:          " + etag);
            info.println("content-type:  " + meta.contentType());
            if (meta.contentEncoding() != null) {
                info.println("content-encoding: " + meta.contentEncoding());
            }
            info.println("last-modified: " + meta.lastModified());
            if (dest.equals("-")) {
                copyVerified(body, out, meta.contentLength());
                out.flush();
            } else {
                Path target = Path.of(dest).toAbsolutePath().normalize();
                if (Files.isDirectory(target)) {
                    target = target.resolve(fileName(key));
                }
                AtomicFileWriter.write(body, target, meta.contentLength() == null ? -1 : meta.contentLength(), etag);
                info.println("written:       " + target);
            }
            return 0;
        } catch (AwsServiceException e) {
            err.println("r2-relay: " + S3Errors.describe(e, settings.endpoint().orElse(null), bucket, key));
            int status = e.statusCode();
            return status == 404 ? 3 : status == 403 ? 4 : 1;
        } catch (SdkClientException e) {
            err.println("r2-relay: " + S3Errors.describe(e, settings.endpoint().orElse(null), bucket, key));
            boolean unreachable = hasCause(e, UnknownHostException.class) || hasCause(e, ConnectException.class);
            return unreachable ? 5 : 1;
        } catch (IOException e) {
            err.println("r2-relay: fetching '" + key + "' failed: " + e.getMessage());
            return 1;
        }
    }

    private static void copyVerified(InputStream in, OutputStream out, Long expected) throws IOException {
        long copied = in.transferTo(out);
        if (expected != null && copied != expected) {
            throw new AtomicFileWriter.IntegrityException("received " + copied + " bytes, expected " + expected);
        }
    }

    /** Settings exactly as the run command resolves them: application.properties, environment, system properties. */
    static RelaySettings loadSettings() {
        DefaultCamelContext camel = new DefaultCamelContext(false);
        camel.getPropertiesComponent().setLocation(R2RelayMain.PROPERTIES);
        return RelaySettings.from(camel.getPropertiesComponent()::resolveProperty);
    }

    private static String fileName(String key) {
        int slash = key.lastIndexOf('/');
        return slash < 0 ? key : key.substring(slash + 1);
    }

    private static boolean hasCause(Throwable t, Class<? extends Throwable> type) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return true;
            }
        }
        return false;
    }
}
