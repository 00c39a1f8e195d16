package dev.r2relay.client;

import dev.r2relay.delivery.RejectedKeyException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.Abortable;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * An object's body (or one byte range of it) that survives a broken transfer. The S3 client
 * retries a request only until its answer starts; once the body flows, a reset connection, a
 * silence longer than {@code r2.read-timeout} or a body that ends before the expected length
 * (a truncated answer, a Content-Length smaller than the object) would otherwise fail the whole
 * delivery. Here the rest is asked for with a ranged GET pinned to the same version (If-Match on
 * the ETag) and the reader sees one stream of exactly the expected length. A body longer than
 * expected fails at once; the caller still checks the size and, where the ETag is one, the MD5.
 * Each resume is counted as a retry of GetObject.
 */
public final class ResumingBody extends InputStream implements Abortable {

    private static final Logger LOG = LoggerFactory.getLogger("dev.r2relay.retry");

    private final S3Client s3;
    private final RequestCounter counter;
    private final String bucket;
    private final String key;
    private final String etag;
    private final long start;
    private final long length;
    private final int maxResumes;
    private final ResumingBodies owner;
    private volatile boolean abandoned;
    private InputStream current;
    private long read;
    private int resumes;
    private boolean ended;

    /**
     * Reads {@code length} bytes (-1: as many as come) from offset {@code start} of the object,
     * starting with {@code first}, an open GET of exactly that part; up to {@code maxResumes}
     * ranged GETs fetch what a broken transfer left out. Opened through {@link ResumingBodies}.
     */
    ResumingBody(S3Client s3, RequestCounter counter, String bucket, String key, String etag, long start,
                 long length, InputStream first, int maxResumes, ResumingBodies owner) {
        this.s3 = s3;
        this.counter = counter;
        this.bucket = bucket;
        this.key = key;
        this.etag = etag;
        this.start = start;
        this.length = length;
        this.current = first;
        this.maxResumes = maxResumes;
        this.owner = owner;
    }

    /** The object's key. */
    public String key() {
        return key;
    }

    /** Bytes handed to the reader so far. */
    public long bytesRead() {
        return read;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        while (true) {
            if (ended) {
                return -1;
            }
            if (length >= 0 && read >= length) {
                ensureNothingMore();
                ended = true;
                return -1;
            }
            int want = length >= 0 ? (int) Math.min(len, length - read) : len;
            int n;
            try {
                n = current.read(b, off, want);
            } catch (IOException e) {
                resume(describe(e), e);
                continue;
            } catch (SdkException e) {
                resume(e.getMessage(), new IOException(e.getMessage(), e));
                continue;
            }
            if (n < 0) {
                if (length < 0) {
                    ended = true;
                    return -1;
                }
                resume("the body ended early", null);
                continue;
            }
            read += n;
            return n;
        }
    }

    /** The expected bytes are in: a body that goes on is not the object the listing described. */
    private void ensureNothingMore() throws IOException {
        int next;
        try {
            next = current.read();
        } catch (IOException e) {
            // the bytes that count are all in; a connection that breaks after them changes nothing
            return;
        }
        if (next >= 0) {
            abortQuietly(current);
            throw new IntegrityFailure("GET of '" + key + "' returned more than the " + length
                    + " bytes the object has at ETag " + etag);
        }
    }

    private void resume(String why, IOException cause) throws IOException {
        if (abandoned) {
            throw new AbandonedException("the transfer of '" + key + "' was abandoned after " + read
                    + " bytes: r2-relay is stopping and camel.main.shutdown-timeout has passed");
        }
        if (Thread.currentThread().isInterrupted() || (cause instanceof InterruptedIOException
                && !(cause instanceof SocketTimeoutException))) {
            throw cause != null ? cause : new InterruptedIOException("interrupted reading '" + key + "'");
        }
        String progress = read + (length >= 0 ? " of " + length : "") + " bytes";
        if (resumes >= maxResumes) {
            String message = "GET of '" + key + "' broke after " + progress + " (" + why + "), " + (resumes + 1)
                    + " time(s); giving up on this attempt";
            throw cause == null ? new IntegrityFailure(message) : new TransferFailure(message, cause);
        }
        resumes++;
        abortQuietly(current);
        long from = start + read;
        String range = "bytes=" + from + "-" + (length >= 0 ? Long.toString(start + length - 1) : "");
        LOG.warn("GET of bucket={} key={} broke after {} ({}); fetching the rest ({}, resume {}/{})", bucket,
                RejectedKeyException.printable(key), progress, why, range, resumes, maxResumes);
        counter.resumed("GetObject");
        ResponseInputStream<GetObjectResponse> next;
        try {
            next = s3.getObject(g -> g.bucket(bucket).key(key).range(range).ifMatch('"' + etag + '"'));
        } catch (S3Exception e) {
            if (e.statusCode() == 412) {
                throw new IOException("'" + key + "' changed while it was being fetched (its ETag is no longer "
                        + etag + "); the new version is delivered at the next poll", e);
            }
            throw new IOException("fetching the rest of '" + key + "' failed: " + e.getMessage(), e);
        } catch (SdkException e) {
            throw new IOException("fetching the rest of '" + key + "' failed: " + e.getMessage(), e);
        }
        String contentRange = next.response().contentRange();
        if (contentRange == null || !contentRange.startsWith("bytes " + from + "-")) {
            abortQuietly(next);
            throw new IOException("the server answered the ranged GET of '" + key + "' (" + range + ") with "
                    + (contentRange == null ? "the whole object" : "Content-Range " + contentRange)
                    + "; it cannot be resumed");
        }
        current = next;
    }

    private static String describe(IOException e) {
        if (e instanceof SocketTimeoutException) {
            return "no data for r2.read-timeout";
        }
        String message = e.getMessage();
        return e.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    }

    @Override
    public void abort() {
        ended = true;
        abortQuietly(current);
        owner.closed(this);
    }

    /** Aborts the transfer for good: a reader blocked in {@link #read} fails now, and nothing resumes it. */
    void abandon() {
        abandoned = true;
        abortQuietly(current);
    }

    /** True once the transfer was abandoned because r2-relay is stopping. */
    public boolean abandoned() {
        return abandoned;
    }

    /** Closes the stream; one not read to its end is aborted rather than drained. */
    @Override
    public void close() throws IOException {
        if (!ended) {
            abort();
            return;
        }
        owner.closed(this);
        current.close();
    }

    private static void abortQuietly(InputStream in) {
        if (in instanceof Abortable abortable) {
            abortable.abort();
        }
        try {
            in.close();
        } catch (IOException | RuntimeException e) {
            // a broken stream is being dropped
        }
    }

    /** The body could not be read whole; the message names the object and what happened. */
    public static class TransferFailure extends IOException {
        public TransferFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The transfer was abandoned: r2-relay is stopping and could not wait for it any longer. */
    public static final class AbandonedException extends TransferFailure {
        public AbandonedException(String message) {
            super(message, null);
        }
    }

    /** The body does not have the expected length: the server sent too few or too many bytes. */
    public static final class IntegrityFailure extends TransferFailure {
        public IntegrityFailure(String message) {
            super(message, null);
        }
    }
}
