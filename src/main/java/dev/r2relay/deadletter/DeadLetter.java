package dev.r2relay.deadletter;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.camel.util.json.DeserializationException;
import org.apache.camel.util.json.JsonObject;
import org.apache.camel.util.json.Jsoner;

/**
 * One object r2-relay gave up on: which version, where it was going, what the target last said
 * ({@code status}: the target's status code when it answered, else null), why, after how many
 * attempts and when. Stored as one JSON object with exactly these field names.
 */
public record DeadLetter(String bucket, String key, String etag, long size, String target, Integer status,
                         String reason, int attempts, Instant time) {

    /**
     * A stable name for the letter of bucket and key, fit for file names and JMS selectors: 40 hex
     * digits of the SHA-256 of bucket, NUL, key (keys themselves are neither).
     */
    public static String idOf(String bucket, String key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest((bucket + "\u0000" + key).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 20);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    /** The record as pretty-printed JSON, fields in a fixed order. */
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bucket", bucket);
        m.put("key", key);
        m.put("etag", etag);
        m.put("size", size);
        m.put("target", target);
        m.put("status", status);
        m.put("reason", reason);
        m.put("attempts", attempts);
        m.put("time", time.toString());
        return Jsoner.prettyPrint(Jsoner.serialize(m), 2) + "\n";
    }

    /** Reads a record written by {@link #toJson()}; fails on anything else. */
    public static DeadLetter fromJson(String json) {
        Object parsed;
        try {
            parsed = Jsoner.deserialize(json);
        } catch (DeserializationException e) {
            throw new IllegalArgumentException("not JSON: " + e.getMessage(), e);
        }
        if (!(parsed instanceof JsonObject o)) {
            throw new IllegalArgumentException("not a JSON object");
        }
        String bucket = o.getString("bucket");
        String key = o.getString("key");
        if (bucket == null || key == null || o.getString("time") == null) {
            throw new IllegalArgumentException("bucket, key or time missing");
        }
        return new DeadLetter(bucket, key, o.getString("etag"), o.getLongOrDefault("size", -1L),
                o.getString("target"), o.getInteger("status"), o.getString("reason"),
                o.getIntegerOrDefault("attempts", 0), Instant.parse(o.getString("time")));
    }
}
