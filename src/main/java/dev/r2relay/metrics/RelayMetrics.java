package dev.r2relay.metrics;

import dev.r2relay.client.RequestCounter;
import dev.r2relay.health.EndpointCheck;
import dev.r2relay.poll.InFlight;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * r2-relay's own metrics, registered in the Micrometer registry that camel-main scrapes at
 * /observe/metrics (a private one when the HTTP server is off). The methods are the API that
 * routes and targets call, e.g. {@code bean:relayMetrics?method=deadLettered('http')}.
 * Label values stay few: a source (poll, trigger, http-trigger), a target kind (file, ...),
 * an S3 operation; never a key or a path.
 */
public final class RelayMetrics {

    public static final String SOURCE_POLL = "poll";
    public static final String SOURCE_TRIGGER = "trigger";
    public static final String SOURCE_HTTP_TRIGGER = "http-trigger";

    static final String DELIVERED = "r2relay.delivered.objects";
    static final String DELIVERED_BYTES = "r2relay.delivered.bytes";
    static final String FAILED = "r2relay.failed.deliveries";
    static final String REJECTED = "r2relay.rejected.objects";
    static final String RETRIES = "r2relay.delivery.retries";
    static final String DEAD_LETTERS = "r2relay.dead.letters";
    static final String INVALID_TRIGGERS = "r2relay.invalid.triggers";
    static final String POLL_FAILURES = "r2relay.poll.failures";
    static final String CLEANUP_FAILURES = "r2relay.cleanup.failures";
    static final String S3_REQUESTS = "r2relay.s3.requests";
    static final String S3_RETRIES = "r2relay.s3.retries";
    static final String HEALTH_PROBES = "r2relay.health.probes";
    static final String LAG = "r2relay.lag";
    static final String IN_FLIGHT = "r2relay.in.flight.objects";
    static final String FAILED_PENDING = "r2relay.failed.pending.objects";
    static final String CLAIMS = "r2relay.claims";

    /** The operations r2-relay sends; their series exist from the start, others from their first request. */
    private static final List<String> KNOWN_OPERATIONS = List.of("ListObjectsV2", "HeadObject", "GetObject",
            "DeleteObject", "CopyObject");

    private final MeterRegistry registry;
    private final Set<String> operations = ConcurrentHashMap.newKeySet();
    private final Counter pollFailures;
    private final Counter cleanupFailures;

    public RelayMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.pollFailures = Counter.builder(POLL_FAILURES)
                .description("Polls whose listing failed (tried again at the next poll)").register(registry);
        this.cleanupFailures = Counter.builder(CLEANUP_FAILURES)
                .description("Deletes or moves after delivery that failed (the object stays delivered)")
                .register(registry);
    }

    /**
     * Registers the series read at scrape time (S3 requests, lag, pending objects, health probes)
     * and the zero series of the configured targets, so that rates exist before the first event.
     */
    public void bind(RequestCounter requests, InFlight inFlight, EndpointCheck endpointCheck, Clock clock,
                     String pollTarget, String triggerTarget) {
        KNOWN_OPERATIONS.forEach(operation -> s3Operation(requests, operation));
        requests.onOperation(operation -> s3Operation(requests, operation));
        Gauge.builder(LAG, inFlight, f -> f.oldestPending()
                        .map(t -> Math.max(0, Duration.between(t, clock.instant()).toMillis()) / 1000.0)
                        .orElse(0.0))
                .baseUnit("seconds")
                .description("Age of the oldest object a poll found and that is not delivered yet (queued, in"
                        + " flight, or failed and waiting for the next poll), from its last-modified time; 0 when"
                        + " none")
                .register(registry);
        Gauge.builder(IN_FLIGHT, inFlight, InFlight::size)
                .description("Objects a poll queued that are waiting for or in delivery")
                .register(registry);
        Gauge.builder(FAILED_PENDING, inFlight, InFlight::waiting)
                .description("Objects whose delivery failed and that the next poll tries again")
                .register(registry);
        FunctionCounter.builder(HEALTH_PROBES, endpointCheck, EndpointCheck::probes)
                .description("ListObjectsV2 requests (R2 Class A) the readiness check made because no listing"
                        + " was recent enough")
                .register(registry);
        for (String[] pair : new String[][] {{SOURCE_POLL, pollTarget}, {SOURCE_TRIGGER, triggerTarget}}) {
            delivered(pair[0], pair[1]);
            deliveredBytes(pair[0], pair[1]);
            failures(pair[0], pair[1]);
            rejects(pair[0], pair[1]);
        }
        for (String result : List.of("claimed", "taken_over", "held", "settled")) {
            claims(result);
        }
        retries(pollTarget);
        deadLetters(pollTarget);
        invalidTriggers(SOURCE_TRIGGER);
    }

    private void s3Operation(RequestCounter requests, String operation) {
        if (!operations.add(operation)) {
            return;
        }
        FunctionCounter.builder(S3_REQUESTS, requests, r -> r.requests(operation))
                .tags("operation", operation, "class", RequestCounter.billingClass(operation))
                .description("HTTP requests sent to the S3 endpoint, retries included, by operation and R2"
                        + " billing class (A, B or free)")
                .register(registry);
        FunctionCounter.builder(S3_RETRIES, requests, r -> r.retries(operation))
                .tags("operation", operation)
                .description("S3 requests sent again after a failed attempt (5xx, 429, I/O errors)")
                .register(registry);
    }

    /** An object is in its target: {@code bytes} is its size. */
    public void delivered(String source, String target, long bytes) {
        delivered(source, target).increment();
        deliveredBytes(source, target).increment(Math.max(0, bytes));
    }

    /** A delivery attempt failed; the poll or the trigger's source tries again. */
    public void failed(String source, String target) {
        failures(source, target).increment();
    }

    /** The target refused the object's key; it is not tried again until the object changes. */
    public void rejected(String source, String target) {
        rejects(source, target).increment();
    }

    /** A target tried a delivery again (its own redelivery, after a failed attempt). */
    public void retried(String target) {
        retries(target).increment();
    }

    /** A target gave up on an object and put it in its dead letter. */
    public void deadLettered(String target) {
        deadLetters(target).increment();
    }

    /** A trigger could not be read (bad JSON, no key, another bucket). */
    public void invalidTrigger(String source) {
        invalidTriggers(source).increment();
    }

    /**
     * A delivery asked for its object's claim: {@code claimed}, {@code taken_over} (from an instance
     * whose lease ran out), {@code held} (another delivery has it) or {@code settled} (delivered
     * meanwhile).
     */
    public void claim(String result) {
        claims(result).increment();
    }

    public void pollFailed() {
        pollFailures.increment();
    }

    /**
     * Since start: failed delivery attempts, dead-lettered objects and failed polls, all sources
     * and targets together; what makes {@code run --once} exit 1.
     */
    public long notDelivered() {
        double sum = pollFailures.count();
        for (String name : new String[] {FAILED, DEAD_LETTERS}) {
            sum += registry.find(name).counters().stream().mapToDouble(Counter::count).sum();
        }
        return Math.round(sum);
    }

    public void cleanupFailed() {
        cleanupFailures.increment();
    }

    private Counter delivered(String source, String target) {
        return Counter.builder(DELIVERED).tags("source", source, "target", target)
                .description("Objects delivered, by source (poll, trigger, http-trigger) and target")
                .register(registry);
    }

    private Counter deliveredBytes(String source, String target) {
        return Counter.builder(DELIVERED_BYTES).tags("source", source, "target", target)
                .description("Bytes of the objects delivered, by source and target")
                .register(registry);
    }

    private Counter failures(String source, String target) {
        return Counter.builder(FAILED).tags("source", source, "target", target)
                .description("Delivery attempts that failed, by source and target")
                .register(registry);
    }

    private Counter rejects(String source, String target) {
        return Counter.builder(REJECTED).tags("source", source, "target", target)
                .description("Objects the target refused (unsafe or conflicting keys), by source and target")
                .register(registry);
    }

    private Counter retries(String target) {
        return Counter.builder(RETRIES).tags("target", target)
                .description("Deliveries a target tried again after a failed attempt")
                .register(registry);
    }

    private Counter deadLetters(String target) {
        return Counter.builder(DEAD_LETTERS).tags("target", target)
                .description("Objects a target gave up on and dead-lettered")
                .register(registry);
    }

    private Counter claims(String result) {
        return Counter.builder(CLAIMS).tags("result", result)
                .description("Claims asked for before a delivery, by result (claimed, taken_over, held, settled)")
                .register(registry);
    }

    private Counter invalidTriggers(String source) {
        return Counter.builder(INVALID_TRIGGERS).tags("source", source)
                .description("Trigger messages that could not be read, by source (trigger, http-trigger)")
                .register(registry);
    }
}
