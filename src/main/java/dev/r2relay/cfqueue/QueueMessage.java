package dev.r2relay.cfqueue;

import java.util.Map;

/**
 * One message of a pull: as Cloudflare's reply gives it ({@code body} undecoded, base64 for the
 * json and bytes content types), with its lease, attempts and metadata.
 */
public record QueueMessage(String id, String body, int attempts, String leaseId, long timestampMs,
                           Map<String, String> metadata) {

    /** The metadata entry naming how the body was published: text, json, bytes or v8. */
    public static final String CONTENT_TYPE = "CF-Content-Type";

    /** The content type the message was published with, or null when the metadata has none. */
    public String contentType() {
        return metadata.get(CONTENT_TYPE);
    }
}
