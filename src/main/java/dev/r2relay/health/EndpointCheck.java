package dev.r2relay.health;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.EncodingType;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;

/**
 * Readiness of the S3 endpoint. Reuses the last listing's outcome (the poller's, or this check's
 * own) while it is younger than the check interval; only when there is none does it probe with
 * one ListObjectsV2 of at most one key under the prefix, which R2 bills as a Class A operation.
 */
public final class EndpointCheck extends AbstractHealthCheck {

    /** The longest a probe may take, retries included; probes stay well inside a readiness timeout. */
    static final Duration PROBE_TIMEOUT = Duration.ofSeconds(5);

    private final S3Client s3;
    private final String bucket;
    private final String prefix;
    private final EndpointStatus status;
    private final Duration interval;
    private final Clock clock;
    private final LongAdder probes = new LongAdder();

    public EndpointCheck(S3Client s3, String bucket, String prefix, EndpointStatus status, Duration interval,
                         Clock clock) {
        super("relay", "r2-endpoint");
        this.s3 = s3;
        this.bucket = bucket;
        this.prefix = prefix;
        this.status = status;
        this.interval = interval;
        this.clock = clock;
    }

    @Override
    public boolean isLiveness() {
        // an unreachable endpoint is not cured by restarting r2-relay
        return false;
    }

    /** Probe requests made so far (each is one ListObjectsV2). */
    public long probes() {
        return probes.sum();
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        Instant now = clock.instant();
        EndpointStatus.Observation seen = status.last()
                .filter(o -> Duration.between(o.at(), now).compareTo(interval) < 0)
                .orElseGet(() -> probe(now));
        long age = Math.max(0, Duration.between(seen.at(), now).toSeconds());
        builder.detail("bucket", bucket);
        builder.detail("checked.seconds.ago", age);
        if (seen.ok()) {
            builder.up();
        } else {
            builder.message("listing bucket " + bucket + " failed " + age + " s ago: " + seen.failure());
            builder.down();
        }
    }

    private EndpointStatus.Observation probe(Instant now) {
        probes.increment();
        ListObjectsV2Request.Builder request = ListObjectsV2Request.builder().bucket(bucket).maxKeys(1)
                .encodingType(EncodingType.URL) // as the poll lists: any key, even one XML cannot carry
                .overrideConfiguration(o -> o.apiCallTimeout(PROBE_TIMEOUT));
        if (!prefix.isEmpty()) {
            request.prefix(prefix);
        }
        try {
            s3.listObjectsV2(request.build());
            status.listed(now);
        } catch (RuntimeException e) {
            status.failed(now, e);
        }
        return status.last().orElseThrow();
    }
}
