package dev.r2relay.deadletter;

import dev.r2relay.client.S3Errors;
import dev.r2relay.delivery.RejectedKeyException;
import dev.r2relay.delivery.RelayHeaders;
import dev.r2relay.state.DeliveryLedger;
import java.io.IOException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The dead-letter steps of the routes: {@link #record} stores an object a target gave up on and
 * marks it DEAD in the ledger (so polls skip it); {@link #clear} drops the letter of an object
 * that was delivered after all (a replay, or a new version).
 */
public final class DeadLetters {

    /** Exchange property: how many attempts the target made (set by the target). */
    public static final String ATTEMPTS = "R2RelayAttempts";
    /** Exchange property: the ETag the target actually tried, when it differs from the listed one. */
    public static final String TRIED_ETAG = "R2RelayTriedETag";

    private static final Logger LOG = LoggerFactory.getLogger("dev.r2relay.dead-letter");

    private final DeadLetterStore store;
    private final DeliveryLedger ledger;

    public DeadLetters(DeadLetterStore store, DeliveryLedger ledger) {
        this.store = store;
        this.ledger = ledger;
    }

    public DeadLetterStore store() {
        return store;
    }

    /**
     * Stores the letter first, then records DEAD: a crash in between leaves a letter for an object
     * the next poll tries again, never a DEAD object without its letter.
     */
    public void record(Exchange exchange) throws IOException {
        DeadLetter letter = letterOf(exchange);
        store.put(letter);
        ledger.recordDead(letter.bucket(), letter.key(), letter.etag(), letter.size(), letter.target(),
                letter.reason());
        LOG.error("dead letter bucket={} key={} target={} status={} attempts={}: {}; stored in {}; not delivered"
                        + " again until replayed or changed", letter.bucket(), RejectedKeyException.printable(letter.key()),
                letter.target(), letter.status() == null ? "none" : letter.status(), letter.attempts(),
                letter.reason(), store.describe());
    }

    /** After a delivery: removes the object's letter if it had one. Never fails the delivery. */
    public void clear(Exchange exchange) {
        if (!store.browsable()) {
            return;
        }
        Message m = exchange.getMessage();
        String bucket = m.getHeader(RelayHeaders.BUCKET, String.class);
        String key = m.getHeader(RelayHeaders.KEY, String.class);
        try {
            if (store.remove(bucket, key)) {
                LOG.info("delivered after all, dead letter removed: bucket={} key={}", bucket,
                        RejectedKeyException.printable(key));
            }
        } catch (IOException e) {
            LOG.warn("delivered bucket={} key={}, but its old dead letter could not be removed from {}: {}", bucket,
                    RejectedKeyException.printable(key), store.describe(), e.getMessage());
        }
    }

    static DeadLetter letterOf(Exchange exchange) {
        Message m = exchange.getMessage();
        String bucket = m.getHeader(RelayHeaders.BUCKET, String.class);
        String key = m.getHeader(RelayHeaders.KEY, String.class);
        String etag = exchange.getProperty(TRIED_ETAG, m.getHeader(RelayHeaders.ETAG, String.class), String.class);
        Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        Integer status = null;
        String reason;
        TargetFailure failure = find(cause);
        if (failure != null) {
            status = failure.status();
            reason = failure.reason();
        } else if (cause != null) {
            reason = S3Errors.describe(cause, null, bucket, key);
        } else {
            reason = "unknown failure";
        }
        Integer attempts = exchange.getProperty(ATTEMPTS, Integer.class);
        if (attempts == null) {
            attempts = m.getHeader(Exchange.REDELIVERY_COUNTER, 0, Integer.class) + 1;
        }
        return new DeadLetter(bucket, key, etag, m.getHeader(RelayHeaders.SIZE, -1L, Long.class),
                m.getHeader(RelayHeaders.TARGET, String.class), status, reason, attempts,
                Instant.now().truncatedTo(ChronoUnit.MILLIS));
    }

    private static TargetFailure find(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof TargetFailure f) {
                return f;
            }
        }
        return null;
    }
}
