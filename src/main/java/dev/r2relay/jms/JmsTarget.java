package dev.r2relay.jms;

import dev.r2relay.delivery.AtomicFileWriter.IntegrityException;
import dev.r2relay.delivery.RelayHeaders;
import dev.r2relay.state.ObjectRef;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.HexFormat;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.camel.Exchange;
import org.apache.camel.InvalidPayloadException;
import org.apache.camel.Message;
import org.apache.camel.component.aws2.s3.AWS2S3Constants;
import org.apache.camel.component.jms.JmsConstants;
import org.apache.camel.component.jms.JmsHeaderFilterStrategy;
import org.apache.camel.spi.HeaderFilterStrategy;
import software.amazon.awssdk.http.Abortable;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;
import software.amazon.awssdk.services.s3.presigner.model.PresignedGetObjectRequest;

/**
 * Turns one object into one JMS message: its bytes when it is at most {@code relay.jms.max-inline-size}
 * long, otherwise a claim check (JSON with a presigned GET URL) for which the object is never
 * downloaded. Both carry the same headers; see {@link #WIRE_HEADERS}.
 */
public final class JmsTarget {

    /** True when the body is a claim check (JSON text), false when it is the object's bytes. */
    public static final String CLAIM_CHECK = "R2RelayClaimCheck";
    public static final String CONTENT_TYPE = "R2RelayContentType";
    /** Artemis drops a message whose duplicate-detection id it has already seen on the address. */
    public static final String DUPLICATE_ID = "_AMQ_DUPL_ID";

    /** The only headers put on the wire: JMS property names, with JMS types (String, long, boolean). */
    public static final Set<String> WIRE_HEADERS = Set.of(RelayHeaders.BUCKET, RelayHeaders.KEY,
            RelayHeaders.ETAG, RelayHeaders.SIZE, RelayHeaders.LAST_MODIFIED, RelayHeaders.IDENTITY, CONTENT_TYPE,
            CLAIM_CHECK, DUPLICATE_ID);

    private static final Pattern MD5_ETAG = Pattern.compile("[0-9a-fA-F]{32}");

    private final S3Client s3;
    private final S3Presigner presigner;
    private final String queue;
    private final long maxInlineSize;
    private final Duration linkExpiry;
    private final JmsFailures failures;

    public JmsTarget(S3Client s3, S3Presigner presigner, JmsSettings settings, JmsFailures failures) {
        this.s3 = s3;
        this.presigner = presigner;
        this.queue = settings.queue();
        this.maxInlineSize = settings.maxInlineSize();
        this.linkExpiry = settings.linkExpiry();
        this.failures = failures;
    }

    /** Decides by the listed size whether the message carries the bytes or a link. */
    public void plan(Exchange exchange) {
        Message m = exchange.getMessage();
        long size = m.getHeader(RelayHeaders.SIZE, -1L, Long.class);
        boolean link = size < 0 || size > maxInlineSize;
        m.setHeader(CLAIM_CHECK, link);
        // LIMITATION: until the send, a copied route's failures name relay.jms.queue, not the queue its YAML names
        m.setHeader(RelayHeaders.TARGET, target(link));
    }

    /**
     * Reads the fetched object (the body, a stream) into the message body, verified against its
     * size and MD5 ETag. An object that grew past the limit since it was listed is not read: the
     * GET is aborted and the message becomes a claim check.
     */
    public void inline(Exchange exchange) throws IOException, InvalidPayloadException {
        Message m = exchange.getMessage();
        // the size relayHeaders.fetched expects: the listed one unless the version changed
        long size = m.getHeader(RelayHeaders.SIZE, -1L, Long.class);
        Long length = size < 0 ? null : size;
        String etag = m.getHeader(RelayHeaders.ETAG, String.class);
        InputStream body = m.getMandatoryBody(InputStream.class);
        try (body) {
            if (length == null || length > maxInlineSize) {
                if (body instanceof Abortable response) {
                    response.abort(); // do not drain a large object just to close the connection
                }
                m.setBody(null);
                m.setHeader(CLAIM_CHECK, true);
                m.setHeader(RelayHeaders.TARGET, target(true));
                linkTo(m, new Metadata(etag, length == null ? -1 : length,
                        m.getHeader(AWS2S3Constants.CONTENT_TYPE, String.class),
                        instant(m.getHeader(AWS2S3Constants.LAST_MODIFIED))));
                return;
            }
            byte[] bytes = body.readNBytes((int) (long) length);
            if (bytes.length != length || body.read() >= 0) {
                throw new IntegrityException("received " + (bytes.length == length ? "more than " + length
                        : Integer.toString(bytes.length)) + " bytes, expected " + length);
            }
            if (etag != null && MD5_ETAG.matcher(etag).matches()) {
                String md5 = HexFormat.of().formatHex(md5().digest(bytes));
                if (!md5.equalsIgnoreCase(etag)) {
                    throw new IntegrityException("MD5 " + md5 + " does not match the ETag " + etag);
                }
            }
            m.setBody(bytes);
        }
        describe(m, new Metadata(etag, length, m.getHeader(AWS2S3Constants.CONTENT_TYPE, String.class),
                instant(m.getHeader(AWS2S3Constants.LAST_MODIFIED))));
    }

    /** Makes the body a claim check for the object as it is now (HEAD, no GET). */
    public void claimCheck(Exchange exchange) {
        Message m = exchange.getMessage();
        String bucket = m.getHeader(RelayHeaders.BUCKET, String.class);
        String key = m.getHeader(RelayHeaders.KEY, String.class);
        HeadObjectResponse head = s3.headObject(b -> b.bucket(bucket).key(key));
        linkTo(m, new Metadata(ObjectRef.bareEtag(head.eTag()), head.contentLength() == null ? -1
                : head.contentLength(), head.contentType(), head.lastModified()));
    }

    /** The broker took the message: a later failure of this object is news again. */
    public void accepted(Exchange exchange) throws jakarta.jms.JMSException {
        Message m = exchange.getMessage();
        failures.forget(m.getHeader(RelayHeaders.IDENTITY, String.class));
        // the queue the route really sent to: a copied route may name another than relay.jms.queue
        Object produced = m.getHeader(JmsConstants.JMS_DESTINATION_NAME_PRODUCED);
        String sentTo = produced instanceof jakarta.jms.Queue q ? q.getQueueName()
                : produced instanceof String name ? name : null;
        if (sentTo != null) {
            m.setHeader(RelayHeaders.TARGET, "jms:queue:" + sentTo
                    + (m.getHeader(CLAIM_CHECK, false, Boolean.class) ? " (claim check)" : ""));
        }
    }

    private void linkTo(Message m, Metadata meta) {
        String bucket = m.getHeader(RelayHeaders.BUCKET, String.class);
        String key = m.getHeader(RelayHeaders.KEY, String.class);
        PresignedGetObjectRequest link = presigner.presignGetObject(p -> p
                .signatureDuration(linkExpiry)
                .getObjectRequest(g -> g.bucket(bucket).key(key)));
        describe(m, meta);
        m.setBody(new ClaimCheck(bucket, key, meta.etag(), meta.size(), meta.contentType(),
                link.url().toString(), link.expiration()).toJson());
    }

    /** Sets the wire headers from what the store said of the version being sent. */
    private static void describe(Message m, Metadata meta) {
        String bucket = m.getHeader(RelayHeaders.BUCKET, String.class);
        String key = m.getHeader(RelayHeaders.KEY, String.class);
        if (meta.etag() != null && !meta.etag().isEmpty()) {
            m.setHeader(RelayHeaders.ETAG, meta.etag());
            m.setHeader(RelayHeaders.IDENTITY, bucket + "/" + key + "@" + meta.etag());
        }
        if (meta.size() >= 0) {
            m.setHeader(RelayHeaders.SIZE, meta.size());
        }
        if (meta.contentType() != null) {
            m.setHeader(CONTENT_TYPE, meta.contentType());
        }
        Instant lastModified = meta.lastModified() != null ? meta.lastModified()
                : instant(m.getHeader(RelayHeaders.LAST_MODIFIED));
        if (lastModified != null) {
            m.setHeader(RelayHeaders.LAST_MODIFIED, lastModified.toString());
        } else {
            m.removeHeader(RelayHeaders.LAST_MODIFIED);
        }
        m.setHeader(DUPLICATE_ID, m.getHeader(RelayHeaders.IDENTITY, String.class));
    }

    private String target(boolean link) {
        return "jms:queue:" + queue + (link ? " (claim check)" : "");
    }

    private static Instant instant(Object value) {
        if (value instanceof Instant i) {
            return i;
        }
        if (value instanceof Date d) {
            return d.toInstant();
        }
        if (value instanceof String s && !s.isEmpty()) {
            return Instant.parse(s);
        }
        return null;
    }

    private static MessageDigest md5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("MD5 is not available", e);
        }
    }

    private record Metadata(String etag, long size, String contentType, Instant lastModified) {
    }

    /**
     * Lets only {@link #WIRE_HEADERS} out to the broker (no Camel or S3 internals); what comes in
     * from a broker is filtered as camel-jms does by default.
     */
    public static final class WireHeaders implements HeaderFilterStrategy {
        private final HeaderFilterStrategy incoming = new JmsHeaderFilterStrategy();

        @Override
        public boolean applyFilterToCamelHeaders(String headerName, Object headerValue, Exchange exchange) {
            return !WIRE_HEADERS.contains(headerName);
        }

        @Override
        public boolean applyFilterToExternalHeaders(String headerName, Object headerValue, Exchange exchange) {
            return incoming.applyFilterToExternalHeaders(headerName, headerValue, exchange);
        }
    }
}
