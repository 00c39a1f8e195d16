package dev.r2relay.client;

import java.io.InputStream;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Opens {@link ResumingBody} streams and keeps track of those being read, so that a stop which
 * outlasts its timeout can abandon them: each is aborted at once, its reader fails, removes its
 * temporary file and records nothing.
 */
public final class ResumingBodies {

    private final S3Client s3;
    private final RequestCounter counter;
    private final int maxResumes;
    private final Set<ResumingBody> open = ConcurrentHashMap.newKeySet();
    private volatile boolean abandoning;

    /** Bodies that may fetch the rest up to {@code maxResumes} times, each counted in {@code counter}. */
    public ResumingBodies(S3Client s3, RequestCounter counter, int maxResumes) {
        this.s3 = s3;
        this.counter = counter;
        this.maxResumes = Math.max(0, maxResumes);
    }

    /**
     * Wraps {@code first}, an open GET of {@code length} bytes (-1: unknown) from offset
     * {@code start} of the object at {@code etag}.
     */
    public ResumingBody wrap(String bucket, String key, String etag, long start, long length, InputStream first) {
        ResumingBody body = new ResumingBody(s3, counter, bucket, key, etag, start, length, first, maxResumes, this);
        open.add(body);
        if (abandoning) {
            body.abandon();
        }
        return body;
    }

    void closed(ResumingBody body) {
        open.remove(body);
    }

    /** Bodies opened and not closed yet. */
    public int open() {
        return open.size();
    }

    /** Aborts every open body, and every body opened from now on; returns how many were open. */
    public int abandonAll() {
        abandoning = true;
        int n = 0;
        for (ResumingBody body : open) {
            body.abandon();
            n++;
        }
        return n;
    }
}
