package dev.r2relay.trigger;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.r2relay.state.ObjectRef;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Reads the three trigger shapes into {@link FetchRequest}s: a bare key; JSON naming a key (and
 * optionally a bucket), alone or in an array; and an R2 event notification as R2 sends it to a
 * Cloudflare Queue ({@code account}, {@code action}, {@code bucket}, {@code object.key},
 * {@code object.size}, {@code object.eTag}, {@code eventTime}).
 */
public final class TriggerParser {

    private static final Set<String> CREATE_ACTIONS = Set.of("PutObject", "CopyObject", "CompleteMultipartUpload");
    private static final Set<String> DELETE_ACTIONS = Set.of("DeleteObject", "LifecycleDeletion");
    private static final int MAX_KEY_BYTES = 1024;

    private final ObjectMapper json = new ObjectMapper();
    private final String bucket;

    /** {@code bucket} is the configured bucket: requests may omit it, and may not name another. */
    public TriggerParser(String bucket) {
        this.bucket = bucket;
    }

    public List<FetchRequest> parse(String body) {
        if (body == null || body.isBlank()) {
            throw new InvalidTriggerException("empty trigger: expected a key, JSON {\"key\": ...} or an R2 event"
                    + " notification");
        }
        String text = body.strip();
        if (text.startsWith("{") || text.startsWith("[")) {
            JsonNode node;
            try {
                node = json.readTree(text);
            } catch (JsonProcessingException e) {
                throw new InvalidTriggerException("trigger is not valid JSON: " + e.getOriginalMessage()
                        + " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr());
            }
            List<FetchRequest> requests = new ArrayList<>();
            if (node.isArray()) {
                if (node.isEmpty()) {
                    throw new InvalidTriggerException("trigger is an empty JSON array");
                }
                for (JsonNode element : node) {
                    requests.add(fromJson(element));
                }
            } else {
                requests.add(fromJson(node));
            }
            return requests;
        }
        if (text.indexOf('\n') >= 0) {
            throw new InvalidTriggerException("a plain-text trigger holds one key on one line");
        }
        return List.of(FetchRequest.create(bucket, checkedKey(text)));
    }

    private FetchRequest fromJson(JsonNode node) {
        if (!node.isObject()) {
            throw new InvalidTriggerException("trigger JSON must be an object, got " + node.getNodeType());
        }
        String requestBucket = text(node, "bucket");
        if (requestBucket != null && !requestBucket.equals(bucket)) {
            throw new InvalidTriggerException("trigger names bucket '" + requestBucket
                    + "', but this relay reads '" + bucket + "' (r2.bucket)");
        }
        if (node.has("action") || node.has("object")) {
            return fromEvent(node);
        }
        String key = text(node, "key");
        if (key == null) {
            throw new InvalidTriggerException("trigger JSON has no \"key\"");
        }
        return FetchRequest.create(bucket, checkedKey(key));
    }

    private FetchRequest fromEvent(JsonNode node) {
        String action = text(node, "action");
        if (action == null) {
            throw new InvalidTriggerException("R2 event notification has no \"action\"");
        }
        FetchRequest.Action kind;
        if (CREATE_ACTIONS.contains(action)) {
            kind = FetchRequest.Action.CREATE;
        } else if (DELETE_ACTIONS.contains(action)) {
            kind = FetchRequest.Action.DELETE;
        } else {
            throw new InvalidTriggerException("R2 event notification has unknown action '" + action + "'");
        }
        JsonNode object = node.get("object");
        if (object == null || !object.isObject()) {
            throw new InvalidTriggerException("R2 event notification has no \"object\"");
        }
        String key = text(object, "key");
        if (key == null) {
            throw new InvalidTriggerException("R2 event notification has no \"object.key\"");
        }
        String etag = text(object, "eTag");
        Long size = null;
        JsonNode sizeNode = object.get("size");
        if (sizeNode != null && !sizeNode.isNull()) {
            if (!sizeNode.canConvertToLong() || sizeNode.asLong() < 0) {
                throw new InvalidTriggerException("R2 event notification has an invalid \"object.size\": " + sizeNode);
            }
            size = sizeNode.asLong();
        }
        Instant time = null;
        String eventTime = text(node, "eventTime");
        if (eventTime != null) {
            try {
                time = Instant.parse(eventTime);
            } catch (DateTimeParseException e) {
                throw new InvalidTriggerException("R2 event notification has an invalid \"eventTime\": '" + eventTime
                        + "'");
            }
        }
        return new FetchRequest(bucket, checkedKey(key), kind, etag == null ? null : ObjectRef.bareEtag(etag), size,
                time, action);
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            return null;
        }
        if (!value.isTextual()) {
            throw new InvalidTriggerException("\"" + field + "\" must be a string, got " + value.getNodeType());
        }
        return value.asText();
    }

    private static String checkedKey(String key) {
        if (key.isEmpty()) {
            throw new InvalidTriggerException("trigger names an empty key");
        }
        if (key.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > MAX_KEY_BYTES) {
            throw new InvalidTriggerException("trigger names a key longer than " + MAX_KEY_BYTES + " bytes");
        }
        return key;
    }
}
