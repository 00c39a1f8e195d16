package dev.r2relay.cfqueue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.r2relay.delivery.AtomicFileWriter;
import dev.r2relay.metrics.RelayMetrics;
import dev.r2relay.trigger.InvalidTriggerException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The steps of routes/trigger-cloudflare-queue.camel.yaml: {@link #pull} a batch, {@link #decode}
 * each message's body, mark it {@link #delivered} (ack), {@link #failed} (retry after
 * {@code retry-delay}) or {@link #unreadable} (kept in a folder, then acked), and {@link #settle}
 * the batch with one ack request. Failed pulls back off: 1 s doubling to 60 s, at least what
 * Retry-After asks; a refused token or unknown queue waits 60 s between attempts.
 */
public final class CloudflareQueueTrigger {

    /** Exchange property: the {@link Batch} being processed. */
    public static final String BATCH = "R2RelayQueueBatch";
    /** Exchange property: the {@link QueueMessage} a sub-exchange is processing. */
    public static final String MESSAGE = "R2RelayQueueMessage";
    /** Exchange property: false once a pull returned nothing, so the route waits for the poll interval. */
    public static final String MORE = "R2RelayQueueMore";

    private static final Logger LOG = LoggerFactory.getLogger("dev.r2relay.trigger.cloudflare-queue");
    private static final Duration FIRST_BACKOFF = Duration.ofSeconds(1);
    private static final Duration MAX_BACKOFF = Duration.ofSeconds(60);
    private static final int SETTLE_ATTEMPTS = 3;

    private final CloudflareQueueClient client;
    private final CloudflareQueueSettings settings;
    private final Path unreadableFolder;
    private final RelayMetrics metrics;
    private final ObjectMapper json = new ObjectMapper();

    private final Object backoffLock = new Object();
    private int failedPulls;
    private Instant notBefore = Instant.MIN;
    private String lastFailure;

    public CloudflareQueueTrigger(CloudflareQueueClient client, CloudflareQueueSettings settings,
                                  Path unreadableFolder, RelayMetrics metrics) {
        this.client = client;
        this.settings = settings;
        this.unreadableFolder = unreadableFolder.toAbsolutePath().normalize();
        this.metrics = metrics;
    }

    /** Where unreadable messages are kept. */
    public Path unreadableFolder() {
        return unreadableFolder;
    }

    /** Pulls one batch, or returns none while backing off or stopping. */
    public List<QueueMessage> pull(Exchange exchange) throws QueueApiException {
        exchange.setProperty(MORE, false);
        exchange.setProperty(BATCH, new Batch(0));
        if (exchange.getContext().isStopping()) {
            return List.of();
        }
        synchronized (backoffLock) {
            if (Instant.now().isBefore(notBefore)) {
                return List.of();
            }
        }
        List<QueueMessage> messages = client.pull();
        synchronized (backoffLock) {
            if (failedPulls > 0) {
                LOG.info("Cloudflare Queue pulls work again after {} failed attempt(s)", failedPulls);
            }
            failedPulls = 0;
            lastFailure = null;
        }
        exchange.setProperty(BATCH, new Batch(messages.size()));
        if (!messages.isEmpty()) {
            LOG.debug("pulled {} message(s) from queue {}", messages.size(), settings.queueId());
        }
        return messages;
    }

    /** A pull failed: waits before the next one; the failure is logged when it starts or changes. */
    public void pullFailed(Exchange exchange) {
        Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        QueueApiException api = cause instanceof QueueApiException q ? q : null;
        String reason = api != null ? api.getMessage() : describe(cause);
        Duration wait;
        boolean changed;
        int failures;
        synchronized (backoffLock) {
            failures = ++failedPulls;
            if (api != null && api.needsFix()) {
                wait = MAX_BACKOFF;
            } else {
                long exponential = FIRST_BACKOFF.toMillis() << Math.min(failures - 1, 10);
                wait = Duration.ofMillis(Math.min(MAX_BACKOFF.toMillis(), exponential));
                if (api != null && api.retryAfter() != null && api.retryAfter().compareTo(wait) > 0) {
                    wait = api.retryAfter().compareTo(Duration.ofHours(1)) > 0 ? Duration.ofHours(1) : api.retryAfter();
                }
            }
            notBefore = Instant.now().plus(wait);
            changed = !reason.equals(lastFailure);
            lastFailure = reason;
        }
        String line = "pulling Cloudflare Queue {} failed: {}; trying again in {} ms";
        if (!changed) {
            LOG.debug(line + " (attempt {})", settings.queueId(), reason, wait.toMillis(), failures);
        } else if (api != null && api.needsFix()) {
            LOG.error(line, settings.queueId(), reason, wait.toMillis());
        } else {
            LOG.warn(line, settings.queueId(), reason, wait.toMillis());
        }
    }

    /**
     * Replaces the body (a {@link QueueMessage}) by the trigger text it carries: json and bytes bodies
     * are base64 (RFC 4648), text bodies plain UTF-8; without a content type, a body that is not JSON
     * itself is read as base64 when that yields JSON.
     */
    public String decode(Exchange exchange) {
        QueueMessage m = exchange.getMessage().getBody(QueueMessage.class);
        exchange.setProperty(MESSAGE, m);
        return decode(m);
    }

    static String decode(QueueMessage m) {
        String type = m.contentType() == null ? "" : m.contentType().trim().toLowerCase(Locale.ROOT);
        String body = m.body();
        switch (type) {
            case "text":
                return body;
            case "json":
            case "bytes":
                return utf8(base64(body, type), type);
            case "v8":
                throw new InvalidTriggerException("published with content type v8, which only Workers can read;"
                        + " R2 event notifications and other producers must publish json, text or bytes");
            default:
                String stripped = body.strip();
                if (stripped.startsWith("{") || stripped.startsWith("[")) {
                    return body;
                }
                try {
                    String decoded = utf8(Base64.getDecoder().decode(stripped), "base64");
                    String d = decoded.strip();
                    return d.startsWith("{") || d.startsWith("[") ? decoded : body;
                } catch (IllegalArgumentException | InvalidTriggerException notBase64) {
                    return body;
                }
        }
    }

    private static byte[] base64(String body, String type) {
        try {
            return Base64.getDecoder().decode(body.strip());
        } catch (IllegalArgumentException e) {
            throw new InvalidTriggerException("its content type is " + type + " but its body is not base64: "
                    + e.getMessage());
        }
    }

    private static String utf8(byte[] bytes, String type) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new InvalidTriggerException("its " + type + " body is not UTF-8 text");
        }
    }

    /** The message's objects are delivered (or needed no delivery): it is acked with the batch. */
    public void delivered(Exchange exchange) {
        QueueMessage m = exchange.getProperty(MESSAGE, QueueMessage.class);
        batch(exchange).ack(m.leaseId());
        LOG.debug("message {} done (attempt {}): acked with its batch", m.id(), m.attempts());
    }

    /** Delivering failed: the message is put back, to come again after {@code retry-delay}. */
    public void failed(Exchange exchange) {
        QueueMessage m = exchange.getProperty(MESSAGE, QueueMessage.class);
        if (m == null) {
            m = exchange.getMessage().getBody(QueueMessage.class);
        }
        Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        batch(exchange).retry(m.leaseId());
        LOG.warn("Cloudflare Queue message {} (attempt {}) not delivered: {}; asking for a retry in {} s", m.id(),
                m.attempts(), describe(cause), settings.retryDelaySeconds());
    }

    /**
     * The message cannot be read (not a trigger, not decodable): retrying cannot help, so it is kept
     * as pulled in the unreadable folder, then acked. If it cannot be kept, it is retried instead.
     */
    public void unreadable(Exchange exchange) {
        QueueMessage m = exchange.getProperty(MESSAGE, QueueMessage.class);
        if (m == null) {
            m = exchange.getMessage().getBody(QueueMessage.class);
        }
        Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        String reason = cause == null ? "unreadable" : cause.getMessage();
        metrics.invalidTrigger(RelayMetrics.SOURCE_TRIGGER);
        Path file = unreadableFolder.resolve(fileName(m.id()));
        try {
            ObjectNode kept = json.createObjectNode().put("id", m.id()).put("timestamp_ms", m.timestampMs())
                    .put("attempts", m.attempts()).put("reason", reason).put("kept_at", Instant.now().toString());
            ObjectNode metadata = kept.putObject("metadata");
            m.metadata().forEach(metadata::put);
            kept.put("body", m.body());
            byte[] bytes = json.writerWithDefaultPrettyPrinter().writeValueAsBytes(kept);
            AtomicFileWriter.write(new ByteArrayInputStream(bytes), file, bytes.length, null);
        } catch (IOException e) {
            batch(exchange).retry(m.leaseId());
            LOG.error("Cloudflare Queue message {} cannot be read ({}) and could not be kept in {}: {}; asking for"
                    + " a retry in {} s", m.id(), reason, unreadableFolder, e.getMessage(),
                    settings.retryDelaySeconds());
            return;
        }
        batch(exchange).ack(m.leaseId());
        LOG.error("Cloudflare Queue message {} cannot be read: {}; kept as pulled in {} and acked", m.id(), reason,
                file);
    }

    /**
     * Sends the batch's acks and retries in one request, tried up to three times. Messages whose ack
     * is lost come back after their lease and are then skipped as already delivered.
     */
    public void settle(Exchange exchange) {
        Batch batch = exchange.getProperty(BATCH, Batch.class);
        if (batch == null || batch.size == 0) {
            return;
        }
        exchange.setProperty(MORE, true);
        List<String> acks = batch.acks();
        List<String> retries = batch.retries();
        if (acks.isEmpty() && retries.isEmpty()) {
            return;
        }
        QueueApiException last = null;
        for (int attempt = 1; attempt <= SETTLE_ATTEMPTS; attempt++) {
            try {
                client.settle(acks, retries, settings.retryDelaySeconds());
                LOG.debug("acked {} and retried {} message(s)", acks.size(), retries.size());
                return;
            } catch (QueueApiException e) {
                last = e;
                if (e.needsFix() || attempt == SETTLE_ATTEMPTS || !sleep(500L << (attempt - 1))) {
                    break;
                }
            }
        }
        LOG.warn("acking {} and retrying {} Cloudflare Queue message(s) failed: {}; they come back when their lease"
                        + " ends ({} ms) and delivered ones are then skipped", acks.size(), retries.size(),
                last.getMessage(), settings.visibilityTimeoutMs());
    }

    /** The failure in one line: the S3 client's own wording for S3 failures, else the exception's message. */
    private static String describe(Throwable cause) {
        if (cause == null) {
            return "unknown failure";
        }
        String message = cause.getMessage();
        if (message == null || message.isBlank()) {
            return cause.getClass().getSimpleName();
        }
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }

    private static boolean sleep(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static Batch batch(Exchange exchange) {
        Batch batch = exchange.getProperty(BATCH, Batch.class);
        if (batch == null) {
            throw new IllegalStateException("no " + BATCH + " property: the message did not come from a pull");
        }
        return batch;
    }

    /** A file name for a message id: the id itself when it is safe, else its hash. */
    static String fileName(String id) {
        if (id != null && id.matches("[A-Za-z0-9_-]{1,128}")) {
            return id + ".json";
        }
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(String.valueOf(id)
                    .getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 16) + ".json";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    /** The outcome of each message of one pull: lease ids to ack and to retry. */
    public static final class Batch {
        private final int size;
        private final List<String> acks = new ArrayList<>();
        private final List<String> retries = new ArrayList<>();

        Batch(int size) {
            this.size = size;
        }

        synchronized void ack(String lease) {
            acks.add(lease);
        }

        synchronized void retry(String lease) {
            retries.add(lease);
        }

        synchronized List<String> acks() {
            return List.copyOf(acks);
        }

        synchronized List<String> retries() {
            return List.copyOf(retries);
        }
    }
}
