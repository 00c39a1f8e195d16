package dev.r2relay.http;

import dev.r2relay.deadletter.DeadLetters;
import dev.r2relay.client.ResumingBody;
import dev.r2relay.delivery.RelayHeaders;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublisher;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.apache.camel.Exchange;
import org.apache.camel.InvalidPayloadException;
import org.apache.camel.Message;
import org.apache.camel.component.aws2.s3.AWS2S3Constants;
import software.amazon.awssdk.http.Abortable;

/**
 * Sends one object to the HTTP endpoint, one attempt per call; retries are the error handler's
 * (routes/error-handling.camel.yaml), each with a fresh GET of the same version (If-Match).
 *
 * <p>Why the JDK's {@link HttpClient} and not camel-http: camel-http 4.18 turns an InputStream
 * body into an {@code InputStreamEntity} of unknown length, so it sends chunked (no
 * Content-Length), and it sends every non-Camel exchange header as a request header. The JDK
 * client streams a publisher of known length with exactly the headers set here, takes the URI
 * as given (the key's encoding is ours), needs no dependency, and lets a failure be classified
 * per attempt. The body is never held in memory: it flows from the S3 response to the socket.
 */
public final class HttpTarget {

    private static final Pattern MD5_ETAG = Pattern.compile("[0-9a-fA-F]{32}");
    private static final int DETAIL_BYTES = 200;

    private final HttpSettings settings;
    private final HttpClient client;

    public HttpTarget(HttpSettings settings, HttpClient client) {
        this.settings = settings;
        this.client = client;
    }

    /** The client this target uses: HTTP/1.1, no redirects, the configured connect timeout. */
    public static HttpClient newClient(HttpSettings settings) {
        return HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(settings.connectTimeout())
                .build();
    }

    /** Names the target (URL without query) for the ledger, the logs and a dead letter. */
    public void plan(Exchange exchange) {
        if (settings.url() == null) {
            throw new IllegalStateException("relay.http.url (RELAY_HTTP_URL) is not set");
        }
        Message m = exchange.getMessage();
        URI uri = UrlTemplate.expand(settings.url(), m.getHeader(RelayHeaders.KEY, String.class));
        m.setHeader(RelayHeaders.TARGET, withoutQuery(uri.toString()));
    }

    /**
     * Before a GET: a repeated attempt must fetch the version the first attempt sent (If-Match). A
     * first attempt keeps the pin its caller set: a trigger asks for the version its HEAD found.
     */
    public void pinVersion(Exchange exchange) {
        String tried = exchange.getProperty(DeadLetters.TRIED_ETAG, String.class);
        if (tried != null) {
            exchange.getMessage().setHeader(AWS2S3Constants.IF_MATCH_CONDITION, "\"" + tried + "\"");
        }
    }

    /**
     * One attempt: streams the body (the object, fresh from S3) to the endpoint. Returns on 2xx;
     * throws {@link HttpDeliveryException} on any other answer or no answer.
     */
    public void send(Exchange exchange) throws IOException, InvalidPayloadException {
        Message m = exchange.getMessage();
        int attempt = exchange.getProperty(DeadLetters.ATTEMPTS, 0, Integer.class) + 1;
        exchange.setProperty(DeadLetters.ATTEMPTS, attempt);
        String bucket = m.getHeader(RelayHeaders.BUCKET, String.class);
        String key = m.getHeader(RelayHeaders.KEY, String.class);
        String etag = m.getHeader(RelayHeaders.ETAG, String.class);
        long size = m.getHeader(RelayHeaders.SIZE, -1L, Long.class);
        if (exchange.getProperty(DeadLetters.TRIED_ETAG) == null) {
            exchange.setProperty(DeadLetters.TRIED_ETAG, etag);
        }
        InputStream object = m.getMandatoryBody(InputStream.class);
        Source source = new Source(object);
        boolean complete = false;
        try {
            HttpRequest request = request(m, bucket, key, etag, size, source);
            HttpResponse<InputStream> response = await(client.sendAsync(request, BodyHandlers.ofInputStream()),
                    source, object);
            int status = response.statusCode();
            if (status < 200 || status > 299) {
                String detail = detail(response);
                throw HttpDeliveryException.answered(status, detail,
                        HttpRetryPolicy.parseRetryAfter(response.headers().firstValue("Retry-After").orElse(null),
                                Instant.now()));
            }
            response.body().close();
            complete = source.bytes == size;
            if (!complete) {
                throw HttpDeliveryException.integrity(status, "sent " + source.bytes + " bytes, the object has "
                        + size);
            }
            String md5 = HexFormat.of().formatHex(source.md5.digest());
            if (etag != null && MD5_ETAG.matcher(etag).matches() && !etag.equalsIgnoreCase(md5)) {
                throw HttpDeliveryException.integrity(status, "the endpoint accepted bytes whose MD5 " + md5
                        + " is not the ETag " + etag + "; it may hold a corrupt copy");
            }
        } finally {
            m.setBody(null);
            release(object, complete);
        }
    }

    private HttpRequest request(Message m, String bucket, String key, String etag, long size, Source source) {
        String encodedKey = UrlTemplate.encodePath(key);
        HttpRequest.Builder b = HttpRequest.newBuilder(UrlTemplate.expand(settings.url(), key));
        settings.headers().forEach(b::header);
        String contentType = m.getHeader(AWS2S3Constants.CONTENT_TYPE, String.class);
        b.header("Content-Type", contentType == null || contentType.isBlank() ? "application/octet-stream"
                : contentType);
        String encoding = contentCoding(m.getHeader(AWS2S3Constants.CONTENT_ENCODING, String.class));
        if (encoding != null) {
            // the stored bytes are sent as stored: say how they are encoded
            b.header("Content-Encoding", encoding);
        }
        b.header(RelayHeaders.BUCKET, bucket);
        b.header(RelayHeaders.KEY, encodedKey);
        b.header(RelayHeaders.ETAG, etag);
        b.header(RelayHeaders.SIZE, Long.toString(size));
        Object lastModified = m.getHeader(RelayHeaders.LAST_MODIFIED);
        if (lastModified != null) {
            b.header(RelayHeaders.LAST_MODIFIED, lastModified.toString());
        }
        b.header(RelayHeaders.IDENTITY, bucket + "/" + encodedKey + "@" + etag);
        BodyPublisher body = size == 0 ? BodyPublishers.noBody()
                : BodyPublishers.fromPublisher(BodyPublishers.ofInputStream(() -> source), size);
        return b.method(settings.method().name(), body).build();
    }

    /**
     * Waits for the answer while the request makes progress: it fails once no body byte was taken
     * and no answer came for {@code relay.http.timeout}. (A whole-request timeout would cut off a
     * large object that is still flowing.)
     */
    private HttpResponse<InputStream> await(CompletableFuture<HttpResponse<InputStream>> answer, Source source,
                                            InputStream object) throws IOException {
        long limit = settings.timeout().toNanos();
        long tick = Math.max(10, Math.min(250, settings.timeout().toMillis() / 4));
        while (true) {
            try {
                return answer.get(tick, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                if (object instanceof ResumingBody body && body.abandoned()) {
                    // r2-relay is stopping and cannot wait for the endpoint's answer any longer
                    answer.cancel(true);
                    throw new ResumingBody.AbandonedException("the delivery of '" + body.key() + "' to the HTTP"
                            + " endpoint was abandoned: r2-relay is stopping and camel.main.shutdown-timeout"
                            + " has passed");
                }
                if (System.nanoTime() - source.lastProgress > limit) {
                    answer.cancel(true);
                    throw HttpDeliveryException.noAnswer("no progress for " + settings.timeout().toMillis()
                            + " ms (relay.http.timeout) after " + source.bytes + " bytes", e);
                }
            } catch (ExecutionException e) {
                throw failure(e.getCause() == null ? e : e.getCause(), source);
            } catch (InterruptedException e) {
                answer.cancel(true);
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while sending to the HTTP endpoint");
            }
        }
    }

    /** A failure reading the object is the source's (tried again at the next poll); others the target's. */
    private IOException failure(Throwable t, Source source) {
        if (source.readFailure != null) {
            return new IOException("reading the object from the bucket failed after " + source.bytes + " bytes: "
                    + source.readFailure.getMessage(), source.readFailure);
        }
        if (t instanceof HttpConnectTimeoutException) {
            return HttpDeliveryException.noAnswer("connect timed out (relay.http.connect-timeout)", t);
        }
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof ConnectException) {
                return HttpDeliveryException.noAnswer("cannot connect: connection refused", t);
            }
        }
        String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return HttpDeliveryException.noAnswer("no answer: " + message, t);
    }

    /** The first line of an error answer's body, shortened and printable, for the log and dead letter. */
    private static String detail(HttpResponse<InputStream> response) {
        try (InputStream in = response.body()) {
            byte[] head = in.readNBytes(DETAIL_BYTES);
            String text = new String(head, StandardCharsets.UTF_8).strip();
            int nl = text.indexOf('\n');
            text = nl < 0 ? text : text.substring(0, nl).strip();
            return text.replaceAll("\\p{Cntrl}", " ");
        } catch (IOException e) {
            return "";
        }
    }

    /** Closes the object stream; one not read to its end is aborted rather than drained. */
    private static void release(InputStream object, boolean complete) {
        if (!complete && object instanceof Abortable s3) {
            s3.abort();
        }
        try {
            object.close();
        } catch (IOException e) {
            // the attempt's outcome is already decided
        }
    }

    /**
     * The object's content coding without "aws-chunked": that one describes how an upload was
     * signed, not the stored bytes, yet some servers keep it with the object. Null when nothing
     * is left.
     */
    static String contentCoding(String stored) {
        if (stored == null) {
            return null;
        }
        StringBuilder b = new StringBuilder();
        for (String coding : stored.split(",")) {
            String c = coding.trim();
            if (!c.isEmpty() && !c.equalsIgnoreCase("aws-chunked")) {
                b.append(b.length() == 0 ? "" : ", ").append(c);
            }
        }
        return b.length() == 0 ? null : b.toString();
    }

    /** A URL as logs may show it: a query can carry a token, so it is cut. */
    public static String withoutQuery(String url) {
        if (url == null) {
            return null;
        }
        int q = url.indexOf('?');
        return q < 0 ? url : url.substring(0, q) + "?…";
    }

    /** The object's bytes on their way out: counted, hashed, timed, read failures kept apart. */
    private static final class Source extends FilterInputStream {
        private final MessageDigest md5;
        private volatile long bytes;
        private volatile long lastProgress = System.nanoTime();
        private volatile IOException readFailure;

        Source(InputStream in) {
            super(in);
            try {
                this.md5 = MessageDigest.getInstance("MD5");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("MD5 is not available", e);
            }
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n;
            try {
                n = in.read(b, off, len);
            } catch (IOException e) {
                readFailure = e;
                throw e;
            }
            if (n > 0) {
                md5.update(b, off, n);
                bytes += n;
            }
            lastProgress = System.nanoTime();
            return n;
        }

        @Override
        public void close() {
            // the S3 stream is released by send(), which knows whether it was read to its end
        }
    }
}
