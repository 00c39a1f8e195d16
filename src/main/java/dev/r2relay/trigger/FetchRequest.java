package dev.r2relay.trigger;

import java.time.Instant;

/**
 * One object a trigger asks for: a bucket and key, and, when the trigger is an R2 event
 * notification, the event's action, ETag, size and time.
 */
public record FetchRequest(String bucket, String key, Action action, String etag, Long size,
                           Instant eventTime, String eventAction) {

    /** What the trigger wants done. */
    public enum Action { CREATE, DELETE }

    public static FetchRequest create(String bucket, String key) {
        return new FetchRequest(bucket, key, Action.CREATE, null, null, null, null);
    }
}
