package dev.r2relay.cfqueue;

import java.time.Duration;

/** The Cloudflare Queues API refused a request or did not answer; the message names the setting to check. */
public final class QueueApiException extends Exception {

    private final int status;
    private final Duration retryAfter;

    QueueApiException(String message, int status, Duration retryAfter, Throwable cause) {
        super(message, cause);
        this.status = status;
        this.retryAfter = retryAfter;
    }

    /** The HTTP status of the answer, or 0 when there was none (connection refused, timeout). */
    public int status() {
        return status;
    }

    /** What the API asked for in Retry-After, or null. */
    public Duration retryAfter() {
        return retryAfter;
    }

    /** True when retrying cannot help until a setting is fixed: a refused token, an unknown queue. */
    public boolean needsFix() {
        return status == 400 || status == 401 || status == 403 || status == 404;
    }
}
