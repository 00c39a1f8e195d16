package dev.r2relay.http;

import dev.r2relay.deadletter.DeadLetters;
import dev.r2relay.delivery.RejectedKeyException;
import dev.r2relay.delivery.RelayHeaders;
import dev.r2relay.metrics.RelayMetrics;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides, for the error handler in routes/error-handling.camel.yaml ({@code retryWhile}), whether
 * a failed HTTP attempt is tried again and after how long: retryable failures up to
 * {@code relay.http.max-attempts}, waiting {@code relay.http.backoff} doubled per attempt with
 * jitter, at least what Retry-After asks, at most {@code relay.http.max-delay}. The wait goes to
 * Camel in the {@code CamelRedeliveryDelay} header, which the error handler reads before it waits.
 */
public final class HttpRetryPolicy {

    private static final Logger LOG = LoggerFactory.getLogger("dev.r2relay.retry");

    private final int maxAttempts;
    private final Duration backoff;
    private final Duration maxDelay;
    private final RelayMetrics metrics;

    /** Each retry it decides on is counted in {@code metrics} (r2relay_delivery_retries_total{target="http"}). */
    public HttpRetryPolicy(HttpSettings settings, RelayMetrics metrics) {
        this(settings.maxAttempts(), settings.backoff(), settings.maxDelay(), metrics);
    }

    HttpRetryPolicy(int maxAttempts, Duration backoff, Duration maxDelay) {
        this(maxAttempts, backoff, maxDelay, null);
    }

    private HttpRetryPolicy(int maxAttempts, Duration backoff, Duration maxDelay, RelayMetrics metrics) {
        this.maxAttempts = maxAttempts;
        this.backoff = backoff;
        this.maxDelay = maxDelay;
        this.metrics = metrics;
    }

    /** The {@code retryWhile} predicate: true to try again (after the delay it sets), false to give up. */
    public boolean retryAgain(Exchange exchange) {
        Throwable failure = exchange.getException() != null ? exchange.getException()
                : exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        HttpDeliveryException http = find(failure);
        int attempts = exchange.getProperty(DeadLetters.ATTEMPTS, 0, Integer.class);
        if (http == null || !http.retryable() || attempts >= maxAttempts) {
            return false;
        }
        Duration delay = delayBefore(attempts + 1, http.retryAfter());
        exchange.getIn().setHeader(Exchange.REDELIVERY_DELAY, delay.toMillis());
        LOG.warn("attempt {}/{} failed bucket={} key={}: {}; trying again in {} ms", attempts, maxAttempts,
                exchange.getMessage().getHeader(RelayHeaders.BUCKET),
                RejectedKeyException.printable(exchange.getMessage().getHeader(RelayHeaders.KEY, "", String.class)),
                http.reason(), delay.toMillis());
        if (metrics != null) {
            metrics.retried("http");
        }
        return true;
    }

    /**
     * The wait before attempt {@code attempt} (2 or more): {@code backoff * 2^(attempt-2)}, capped,
     * with "equal jitter" (a random point in its upper half) so that failed deliveries spread out;
     * never less than {@code retryAfter}, never more than the cap.
     */
    Duration delayBefore(int attempt, Duration retryAfter) {
        long base = backoff.toMillis();
        long cap = maxDelay.toMillis();
        long exponential = base << Math.min(Math.max(attempt - 2, 0), 30);
        long ceiling = Math.min(cap, exponential < 0 ? cap : exponential);
        long jittered = ceiling / 2 + ThreadLocalRandom.current().nextLong(ceiling - ceiling / 2 + 1);
        long wanted = retryAfter == null ? 0 : retryAfter.toMillis();
        return Duration.ofMillis(Math.min(cap, Math.max(jittered, wanted)));
    }

    /** Retry-After as delta-seconds or an HTTP date; null when absent or unreadable. */
    public static Duration parseRetryAfter(String value, Instant now) {
        if (value == null || value.isBlank()) {
            return null;
        }
        String v = value.trim();
        try {
            long seconds = Long.parseLong(v);
            return seconds < 0 ? null : Duration.ofSeconds(seconds);
        } catch (NumberFormatException e) {
            // not seconds: an HTTP date
        }
        try {
            Instant at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
            Duration until = Duration.between(now, at);
            return until.isNegative() ? Duration.ZERO : until;
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    private static HttpDeliveryException find(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof HttpDeliveryException h) {
                return h;
            }
        }
        return null;
    }
}
