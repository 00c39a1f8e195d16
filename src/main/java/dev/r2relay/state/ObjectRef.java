package dev.r2relay.state;

import java.time.Instant;

/**
 * One object as listed: its identity (bucket, key, ETag) and what the listing says of it.
 * {@code folderOfOthers} is true when other keys in the bucket continue this key with a '/'.
 */
public record ObjectRef(String bucket, String key, String etag, long size, Instant lastModified,
                        boolean folderOfOthers) {

    /** The ETag without the quotes S3 puts around it. */
    public static String bareEtag(String etag) {
        if (etag == null) {
            return "";
        }
        String e = etag.trim();
        return e.length() >= 2 && e.startsWith("\"") && e.endsWith("\"") ? e.substring(1, e.length() - 1) : e;
    }

    /** The idempotency key a target can store: bucket, key and ETag in one string. */
    public String identity() {
        return bucket + "/" + key + "@" + etag;
    }
}
