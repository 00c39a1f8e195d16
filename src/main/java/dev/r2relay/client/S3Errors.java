package dev.r2relay.client;

import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertificateException;
import javax.net.ssl.SSLException;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkClientException;

/**
 * Turns S3 failures into one sentence an operator can act on, naming the bucket, key or setting
 * at fault. Never includes a credential: only the service's error code and the endpoint host.
 */
public final class S3Errors {

    private S3Errors() {
    }

    /** Describes a failure of an operation on {@code bucket} (and {@code key}, which may be null). */
    public static String describe(Throwable failure, URI endpoint, String bucket, String key) {
        String where = key == null ? "bucket '" + bucket + "'" : "'" + key + "' in bucket '" + bucket + "'";
        ResumingBody.AbandonedException abandoned = find(failure, ResumingBody.AbandonedException.class);
        if (abandoned != null) {
            return abandoned.getMessage();
        }
        AwsServiceException service = find(failure, AwsServiceException.class);
        if (service != null) {
            String code = service.awsErrorDetails() == null ? null : service.awsErrorDetails().errorCode();
            int status = service.statusCode();
            if ("NoSuchBucket".equals(code) || (status == 404 && key == null)) {
                return "bucket '" + bucket + "' does not exist at " + host(endpoint) + " (r2.bucket, R2_BUCKET)";
            }
            if ("NoSuchKey".equals(code) || status == 404) {
                return "no object " + where + " (404 " + (code == null ? "Not Found" : code) + ")";
            }
            if (status == 412 && key != null) {
                return "'" + key + "' in bucket '" + bucket + "' changed while it was being fetched (412 "
                        + (code == null ? "Precondition Failed" : code) + ": its ETag is no longer the one"
                        + " fetched first)";
            }
            if ("InvalidAccessKeyId".equals(code)) {
                return host(endpoint) + " does not know the access key (r2.access-key, AWS_ACCESS_KEY_ID):"
                        + " check the API token's id";
            }
            if ("SignatureDoesNotMatch".equals(code)) {
                return host(endpoint) + " rejected the request signature: the secret (r2.secret-key,"
                        + " r2.api-token or AWS_SECRET_ACCESS_KEY) does not belong to the access key";
            }
            if (status == 403) {
                return host(endpoint) + " denied access to " + where + " (403 " + (code == null ? "Forbidden" : code)
                        + "): the credentials are valid but lack permission, or the region is wrong";
            }
            if ("AuthorizationHeaderMalformed".equals(code) || "InvalidRegion".equals(code)) {
                String detail = service.awsErrorDetails().errorMessage();
                return host(endpoint) + " rejected the region (r2.region, AWS_REGION): " + code
                        + (detail == null ? "" : ": " + firstLine(detail)) + "; R2 takes auto, us-east-1 or none";
            }
            String message = service.awsErrorDetails() == null ? null : service.awsErrorDetails().errorMessage();
            if (code == null && (message == null || message.isBlank())) {
                return host(endpoint) + " answered " + status + " on " + where + ", with no S3 error in the answer"
                        + (status >= 500 ? " (a server fault: retried r2.max-attempts times)" : "")
                        + (status == 400 ? " (check r2.prefix and r2.bucket: R2 refuses some names, such as a"
                        + " prefix starting with '/')" : "");
            }
            return "S3 error on " + where + ": " + status + " " + (code == null ? "" : code + " ")
                    + firstLine(message);
        }
        ResumingBody.TransferFailure transfer = find(failure, ResumingBody.TransferFailure.class);
        if (transfer != null) {
            return transfer.getMessage();
        }
        UnknownHostException unknown = find(failure, UnknownHostException.class);
        if (unknown != null) {
            return "cannot resolve the endpoint host " + host(endpoint) + " (r2.endpoint, r2.account-id or"
                    + " AWS_ENDPOINT_URL)";
        }
        if (find(failure, ConnectException.class) != null) {
            return "cannot connect to the endpoint " + host(endpoint) + ": connection refused (r2.endpoint,"
                    + " r2.account-id or AWS_ENDPOINT_URL)";
        }
        if (find(failure, SSLException.class) != null) {
            String reason = firstLine(find(failure, SSLException.class).getMessage())
                    .replace("sun.security.provider.certpath.SunCertPathBuilderException: ", "");
            if (find(failure, CertPathBuilderException.class) != null
                    || find(failure, CertificateException.class) != null) {
                return "TLS handshake with " + host(endpoint) + " failed: its certificate is not trusted (" + reason
                        + "); check r2.endpoint, or give the JVM a trust store holding the certificate's CA"
                        + " (-Djavax.net.ssl.trustStore=...)";
            }
            return "TLS handshake with " + host(endpoint) + " failed: " + reason;
        }
        if (find(failure, SocketTimeoutException.class) != null) {
            return "the endpoint " + host(endpoint) + " did not answer in time (r2.read-timeout) for " + where;
        }
        SdkClientException client = find(failure, SdkClientException.class);
        if (client != null && firstLine(client.getMessage()).startsWith("Could not parse")) {
            return host(endpoint) + " answered on " + where + " with a response that is not valid S3 XML: "
                    + firstLine(client.getMessage());
        }
        if (client != null) {
            return "cannot reach " + host(endpoint) + " for " + where + ": " + firstLine(client.getMessage());
        }
        return failure.getClass().getSimpleName() + " on " + where + ": " + firstLine(failure.getMessage());
    }

    /**
     * True when the failure is a 404 for an object (not for the bucket): it was deleted after it
     * was listed or named, so there is nothing left to deliver.
     */
    public static boolean objectGone(Throwable failure) {
        AwsServiceException service = find(failure, AwsServiceException.class);
        if (service == null || service.statusCode() != 404) {
            return false;
        }
        String code = service.awsErrorDetails() == null ? null : service.awsErrorDetails().errorCode();
        return !"NoSuchBucket".equals(code);
    }

    /** True when the transfer was abandoned because r2-relay is stopping. */
    public static boolean abandoned(Throwable failure) {
        return find(failure, ResumingBody.AbandonedException.class) != null;
    }

    /** The S3 error code of a service failure ("NoSuchKey"), or the status when it has none; null otherwise. */
    public static String errorCode(Throwable failure) {
        AwsServiceException service = find(failure, AwsServiceException.class);
        if (service == null) {
            return null;
        }
        String code = service.awsErrorDetails() == null ? null : service.awsErrorDetails().errorCode();
        return code == null ? Integer.toString(service.statusCode()) : service.statusCode() + " " + code;
    }

    /** True when retrying cannot help: the configuration is at fault. */
    public static boolean isConfigurationError(Throwable failure) {
        AwsServiceException service = find(failure, AwsServiceException.class);
        if (service != null) {
            int status = service.statusCode();
            return status == 403 || status == 400 || (status == 404 && "NoSuchBucket".equals(
                    service.awsErrorDetails() == null ? null : service.awsErrorDetails().errorCode()));
        }
        return find(failure, UnknownHostException.class) != null;
    }

    private static String host(URI endpoint) {
        if (endpoint == null) {
            return "the endpoint";
        }
        return endpoint.getScheme() + "://" + endpoint.getHost() + (endpoint.getPort() > 0 ? ":" + endpoint.getPort() : "");
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }

    static <T extends Throwable> T find(Throwable failure, Class<T> type) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return null;
    }
}
