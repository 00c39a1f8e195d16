package dev.r2relay.delivery;

import dev.r2relay.client.S3Errors;
import dev.r2relay.metrics.RelayMetrics;
import dev.r2relay.poll.InFlight;
import dev.r2relay.state.DeliveryLedger;
import dev.r2relay.trigger.FetchRequest;
import dev.r2relay.trigger.TriggeredFetch;
import java.net.URI;
import java.util.concurrent.TimeUnit;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last step of every delivery: records the outcome in the ledger, logs one line for it and
 * counts it in the metrics, by source (poll or trigger) and target.
 */
public final class DeliveryRecorder {

    /** An exchange property naming where a trigger came from ("http"); absent: a direct trigger. */
    public static final String TRIGGER_SOURCE = "R2RelayTriggerSource";

    private static final Logger LOG = LoggerFactory.getLogger("dev.r2relay.delivered");
    private static final Logger REJECTS = LoggerFactory.getLogger("dev.r2relay.rejected");

    private static final Logger FAILURES = LoggerFactory.getLogger("dev.r2relay.failed");
    private static final Logger SKIPPED = LoggerFactory.getLogger("dev.r2relay.skipped");

    private final DeliveryLedger ledger;
    private final URI endpoint;
    private final RelayMetrics metrics;
    private final InFlight inFlight;
    private final String pollTarget;
    private final String triggerTarget;

    /** {@code pollTarget} and {@code triggerTarget} (relay.target, relay.trigger.target) label the metrics. */
    public DeliveryRecorder(DeliveryLedger ledger, URI endpoint, RelayMetrics metrics, InFlight inFlight,
                            String pollTarget, String triggerTarget) {
        this.ledger = ledger;
        this.endpoint = endpoint;
        this.metrics = metrics;
        this.inFlight = inFlight;
        this.pollTarget = pollTarget;
        this.triggerTarget = triggerTarget;
    }

    /** Records the object as delivered; call only once the target holds it durably. */
    public void delivered(Exchange exchange) {
        Message m = exchange.getMessage();
        String bucket = m.getHeader(RelayHeaders.BUCKET, String.class);
        String key = m.getHeader(RelayHeaders.KEY, String.class);
        long size = m.getHeader(RelayHeaders.SIZE, -1L, Long.class);
        String target = m.getHeader(RelayHeaders.TARGET, String.class);
        ledger.recordDelivered(bucket, key, m.getHeader(RelayHeaders.ETAG, String.class), size, target);
        inFlight.settled(bucket, key);
        metrics.delivered(source(exchange), target(exchange), size);
        Long started = m.getHeader(RelayHeaders.STARTED, Long.class);
        long ms = started == null ? -1 : TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        LOG.info("delivered bucket={} key={} size={} target={} ms={}", bucket,
                RejectedKeyException.printable(key), size, target, ms);
    }

    /** Records a key the target refused, so it is not tried again until its ETag changes. */
    public void rejected(Exchange exchange) {
        Message m = exchange.getMessage();
        Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        String reason = cause == null ? "rejected" : cause.getMessage();
        String bucket = m.getHeader(RelayHeaders.BUCKET, String.class);
        String key = m.getHeader(RelayHeaders.KEY, String.class);
        ledger.recordRejected(bucket, key, m.getHeader(RelayHeaders.ETAG, String.class), reason);
        inFlight.settled(bucket, key);
        metrics.rejected(source(exchange), target(exchange));
        REJECTS.warn("not delivered bucket={} {}; recorded as rejected until the object changes", bucket, reason);
    }

    /**
     * A delivery failed: nothing is recorded, so the object is tried again at the next poll. An
     * object deleted since the listing (404) is not a failure: it is skipped with one line, and the
     * next listing no longer shows it.
     */
    public void failed(Exchange exchange) {
        Throwable caught = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        if (caught != null && S3Errors.objectGone(caught)) {
            Message m = exchange.getMessage();
            String key = m.getHeader(RelayHeaders.KEY, String.class);
            SKIPPED.warn("skipped bucket={} key={}: deleted after it was listed ({}); nothing is delivered or recorded",
                    m.getHeader(RelayHeaders.BUCKET, String.class), key == null ? null
                            : RejectedKeyException.printable(key), S3Errors.errorCode(caught));
            return;
        }
        metrics.failed(source(exchange), target(exchange));
        Message m = exchange.getMessage();
        String bucket = m.getHeader(RelayHeaders.BUCKET, String.class);
        String key = m.getHeader(RelayHeaders.KEY, String.class);
        FAILURES.warn("not delivered bucket={} key={}: {}; it stays in the bucket and is tried again at the next {}",
                bucket, key == null ? null : RejectedKeyException.printable(key), cause(exchange, bucket, key),
                caught != null && S3Errors.abandoned(caught) ? "start" : "poll");
    }

    /**
     * A delivery a trigger asked for failed; the trigger's source (queue, caller) retries it. An
     * HTTP trigger was answered already: its failure is only reported.
     */
    public void triggerFailed(Exchange exchange) {
        Message m = exchange.getMessage();
        String bucket = m.getHeader(RelayHeaders.BUCKET, String.class);
        String key = m.getHeader(RelayHeaders.KEY, String.class);
        if (key == null && m.getBody() instanceof FetchRequest request) {
            // failed before the delivery headers were set (the HEAD of the current version)
            bucket = request.bucket();
            key = request.key();
        }
        String source = source(exchange);
        metrics.failed(source, target(exchange));
        FAILURES.warn("not delivered bucket={} key={}: {}; {}", bucket,
                key == null ? null : RejectedKeyException.printable(key), cause(exchange, bucket, key),
                source.equals(RelayMetrics.SOURCE_HTTP_TRIGGER)
                        ? "the HTTP trigger was answered 202 already: send it again, or let a poll deliver it"
                        : "the trigger is returned to its source to retry");
    }

    /** A trigger that cannot be read: reported once; retrying cannot help. */
    public void invalidTrigger(Exchange exchange) {
        Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        String source = triggerSource(exchange);
        metrics.invalidTrigger(source);
        FAILURES.warn("invalid {}: {}",
                source.equals(RelayMetrics.SOURCE_HTTP_TRIGGER) ? "HTTP trigger" : "trigger",
                cause == null ? "unreadable" : cause.getMessage());
    }

    /** A send that its target reports itself (JMS: once per object) failed: counted, not logged. */
    public void sendFailed(Exchange exchange) {
        metrics.failed(source(exchange), target(exchange));
    }

    /** A listing failed; the next poll tries again. */
    public void pollFailed(Exchange exchange) {
        metrics.pollFailed();
        String bucket = exchange.getContext().resolvePropertyPlaceholders("{{r2.bucket}}");
        FAILURES.warn("poll failed: {}; trying again at the next poll", cause(exchange, bucket, null));
    }

    /** Deleting or moving a delivered object failed; it stays delivered and recorded. */
    public void cleanupFailed(Exchange exchange) {
        metrics.cleanupFailed();
        Message m = exchange.getMessage();
        String bucket = m.getHeader(RelayHeaders.BUCKET, String.class);
        String key = m.getHeader(RelayHeaders.KEY, String.class);
        FAILURES.warn("delivered but not cleaned up bucket={} key={}: {}; it is recorded and will not be"
                + " delivered again", bucket, RejectedKeyException.printable(key), cause(exchange, bucket, key));
    }

    /** poll, trigger or http-trigger: a trigger's deliveries carry the trigger header. */
    private static String source(Exchange exchange) {
        if (exchange.getMessage().getHeader(TriggeredFetch.TRIGGER) == null) {
            return RelayMetrics.SOURCE_POLL;
        }
        return triggerSource(exchange);
    }

    private static String triggerSource(Exchange exchange) {
        return "http".equals(exchange.getProperty(TRIGGER_SOURCE, String.class))
                ? RelayMetrics.SOURCE_HTTP_TRIGGER : RelayMetrics.SOURCE_TRIGGER;
    }

    private String target(Exchange exchange) {
        return RelayMetrics.SOURCE_POLL.equals(source(exchange)) ? pollTarget : triggerTarget;
    }

    private String cause(Exchange exchange, String bucket, String key) {
        Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof InboxWriteException inbox) {
                return inbox.getMessage();
            }
        }
        return cause == null ? "unknown failure" : S3Errors.describe(cause, endpoint, bucket, key);
    }
}
