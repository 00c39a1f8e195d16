package dev.r2relay.http;

import dev.r2relay.deadletter.TargetFailure;
import java.io.IOException;
import java.time.Duration;

/**
 * One HTTP attempt failed. Retryable: 408, 429, 5xx, no connection, no progress. Not retryable:
 * any other answer (4xx, a redirect), or bytes that did not match the object.
 */
public final class HttpDeliveryException extends IOException implements TargetFailure {

    private final Integer status;
    private final boolean retryable;
    private final Duration retryAfter;

    private HttpDeliveryException(String reason, Integer status, boolean retryable, Duration retryAfter,
                                  Throwable cause) {
        super(reason, cause);
        this.status = status;
        this.retryable = retryable;
        this.retryAfter = retryAfter;
    }

    /** The endpoint answered {@code status}, which is not 2xx. */
    static HttpDeliveryException answered(int status, String detail, Duration retryAfter) {
        boolean retryable = isRetryable(status);
        String reason = "HTTP " + status + (detail == null || detail.isBlank() ? "" : ": " + detail);
        return new HttpDeliveryException(reason, status, retryable, retryable ? retryAfter : null, null);
    }

    /** No answer: the connection failed or the request made no progress. Always retryable. */
    static HttpDeliveryException noAnswer(String reason, Throwable cause) {
        return new HttpDeliveryException(reason, null, true, null, cause);
    }

    /** The endpoint took the bytes, but they are not the object's; retrying would not tell it. */
    static HttpDeliveryException integrity(int status, String reason) {
        return new HttpDeliveryException(reason, status, false, null, null);
    }

    /** 408, 429 and 5xx are worth another attempt; other statuses mean the request itself is refused. */
    public static boolean isRetryable(int status) {
        return status == 408 || status == 429 || (status >= 500 && status <= 599);
    }

    @Override
    public Integer status() {
        return status;
    }

    @Override
    public String reason() {
        return getMessage();
    }

    public boolean retryable() {
        return retryable;
    }

    /** What the endpoint asked for in Retry-After, or null. */
    public Duration retryAfter() {
        return retryAfter;
    }
}
