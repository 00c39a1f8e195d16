package dev.r2relay.jms;

import java.time.Instant;

/**
 * The body of a message for an object too large to travel inline: where it is, which version,
 * and a presigned GET URL valid until {@code expiresAt}. The URL is a bearer secret: never log it.
 */
public record ClaimCheck(String bucket, String key, String etag, long size, String contentType, String url,
                         Instant expiresAt) {

    /** {"bucket","key","etag","size","contentType","url","expiresAt"}; absent values are null. */
    public String toJson() {
        StringBuilder json = new StringBuilder(256 + url.length());
        json.append('{');
        field(json, "bucket", bucket).append(',');
        field(json, "key", key).append(',');
        field(json, "etag", etag).append(',');
        json.append("\"size\":").append(size).append(',');
        field(json, "contentType", contentType).append(',');
        field(json, "url", url).append(',');
        field(json, "expiresAt", expiresAt == null ? null : expiresAt.toString());
        return json.append('}').toString();
    }

    private static StringBuilder field(StringBuilder json, String name, String value) {
        json.append('"').append(name).append("\":");
        if (value == null) {
            return json.append("null");
        }
        json.append('"');
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> json.append("\\\"");
                case '\\' -> json.append("\\\\");
                case '\n' -> json.append("\\n");
                case '\r' -> json.append("\\r");
                case '\t' -> json.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x2028 || c == 0x2029) {
                        json.append(String.format("\\u%04x", (int) c));
                    } else {
                        json.append(c);
                    }
                }
            }
        }
        return json.append('"');
    }
}
