package dev.r2relay.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

class HttpRetryPolicyTest {

    private final HttpRetryPolicy policy = new HttpRetryPolicy(5, Duration.ofMillis(1000), Duration.ofMillis(10_000));

    @RepeatedTest(20)
    void backsOffExponentiallyWithJitterUpToTheCap() {
        assertThat(policy.delayBefore(2, null).toMillis()).isBetween(500L, 1000L);
        assertThat(policy.delayBefore(3, null).toMillis()).isBetween(1000L, 2000L);
        assertThat(policy.delayBefore(4, null).toMillis()).isBetween(2000L, 4000L);
        assertThat(policy.delayBefore(6, null).toMillis()).isBetween(5000L, 10_000L);
        assertThat(policy.delayBefore(60, null).toMillis()).isBetween(5000L, 10_000L);
    }

    @Test
    void waitsAtLeastRetryAfterButNoLongerThanTheCap() {
        assertThat(policy.delayBefore(2, Duration.ofSeconds(3))).isEqualTo(Duration.ofSeconds(3));
        assertThat(policy.delayBefore(2, Duration.ofHours(1))).isEqualTo(Duration.ofSeconds(10));
        assertThat(policy.delayBefore(2, Duration.ZERO).toMillis()).isBetween(500L, 1000L);
    }

    @Test
    void readsRetryAfterAsSecondsOrHttpDate() {
        Instant now = Instant.parse("2026-03-01T10:00:00Z");
        assertThat(HttpRetryPolicy.parseRetryAfter("120", now)).isEqualTo(Duration.ofSeconds(120));
        String date = DateTimeFormatter.RFC_1123_DATE_TIME.format(now.plusSeconds(42).atOffset(ZoneOffset.UTC));
        assertThat(HttpRetryPolicy.parseRetryAfter(date, now)).isEqualTo(Duration.ofSeconds(42));
        assertThat(HttpRetryPolicy.parseRetryAfter("Sun, 01 Mar 2026 09:00:00 GMT", now)).isEqualTo(Duration.ZERO);
        assertThat(HttpRetryPolicy.parseRetryAfter("soon", now)).isNull();
        assertThat(HttpRetryPolicy.parseRetryAfter("-5", now)).isNull();
        assertThat(HttpRetryPolicy.parseRetryAfter(null, now)).isNull();
    }

    @Test
    void retriesOnly408And429And5xx() {
        assertThat(HttpDeliveryException.isRetryable(408)).isTrue();
        assertThat(HttpDeliveryException.isRetryable(429)).isTrue();
        assertThat(HttpDeliveryException.isRetryable(500)).isTrue();
        assertThat(HttpDeliveryException.isRetryable(503)).isTrue();
        assertThat(HttpDeliveryException.isRetryable(400)).isFalse();
        assertThat(HttpDeliveryException.isRetryable(401)).isFalse();
        assertThat(HttpDeliveryException.isRetryable(404)).isFalse();
        assertThat(HttpDeliveryException.isRetryable(413)).isFalse();
        assertThat(HttpDeliveryException.isRetryable(301)).isFalse();
        assertThat(HttpDeliveryException.answered(400, "x", Duration.ofSeconds(1)).retryAfter()).isNull();
    }
}
