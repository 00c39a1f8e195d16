package dev.r2relay.delivery;

import dev.r2relay.client.ResumingBodies;
import dev.r2relay.client.ResumingBody;
import dev.r2relay.state.ObjectRef;
import java.io.InputStream;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.component.aws2.s3.AWS2S3Constants;

/**
 * The headers every delivery carries, whatever its target. {@code R2RelayIdentity} (bucket, key
 * and ETag) is the idempotency key a target can use to detect the one redelivery a crash may cause.
 */
public final class RelayHeaders {

    public static final String BUCKET = "R2RelayBucket";
    public static final String KEY = "R2RelayKey";
    public static final String ETAG = "R2RelayETag";
    public static final String SIZE = "R2RelaySize";
    public static final String LAST_MODIFIED = "R2RelayLastModified";
    public static final String IDENTITY = "R2RelayIdentity";
    public static final String FOLDER_OF_OTHERS = "R2RelayFolderOfOthers";
    public static final String TARGET = "R2RelayTarget";
    public static final String STARTED = "R2RelayStarted";

    private final ResumingBodies bodies;

    /** Headers only: {@link #fetched} leaves the body as the GET returned it. */
    public RelayHeaders() {
        this(null);
    }

    /** {@link #fetched} makes the body a {@link ResumingBody} opened by {@code bodies}. */
    public RelayHeaders(ResumingBodies bodies) {
        this.bodies = bodies;
    }

    /** Turns a listed object (the body) into the headers above plus the key aws2-s3 reads. */
    public void describe(Exchange exchange) throws org.apache.camel.InvalidPayloadException {
        ObjectRef ref = exchange.getMessage().getMandatoryBody(ObjectRef.class);
        Message m = exchange.getMessage();
        m.setHeader(BUCKET, ref.bucket());
        m.setHeader(KEY, ref.key());
        m.setHeader(ETAG, ref.etag());
        m.setHeader(SIZE, ref.size());
        m.setHeader(LAST_MODIFIED, ref.lastModified());
        m.setHeader(IDENTITY, ref.identity());
        m.setHeader(FOLDER_OF_OTHERS, ref.folderOfOthers());
        m.setHeader(STARTED, System.nanoTime());
        m.setHeader(AWS2S3Constants.KEY, ref.key());
    }

    /**
     * After a GET: the version actually fetched is the one delivered and recorded. Its expected
     * size is the listed one while the ETag is the listed one (a Content-Length that disagrees is
     * the answer's fault, not the object's), else the answer's Content-Length. The body becomes a
     * stream of exactly that many bytes, resumed with ranged GETs of that version if it breaks.
     */
    public void fetched(Exchange exchange) {
        Message m = exchange.getMessage();
        String listedEtag = m.getHeader(ETAG, String.class);
        Long listedSize = m.getHeader(SIZE, Long.class);
        String etag = m.getHeader(AWS2S3Constants.E_TAG, String.class);
        String bare = etag == null ? listedEtag : ObjectRef.bareEtag(etag);
        if (etag != null) {
            m.setHeader(ETAG, bare);
            m.setHeader(IDENTITY, m.getHeader(BUCKET) + "/" + m.getHeader(KEY) + "@" + bare);
        }
        Long length = m.getHeader(AWS2S3Constants.CONTENT_LENGTH, Long.class);
        boolean sameVersion = bare != null && bare.equals(listedEtag);
        long expected = sameVersion && listedSize != null && listedSize >= 0 ? listedSize
                : length == null ? -1 : length;
        m.setHeader(SIZE, expected);
        if (bodies != null && bare != null && m.getBody() instanceof InputStream body
                && !(body instanceof ResumingBody)) {
            m.setBody(bodies.wrap(m.getHeader(BUCKET, String.class), m.getHeader(KEY, String.class), bare, 0,
                    expected, body));
        }
    }
}
