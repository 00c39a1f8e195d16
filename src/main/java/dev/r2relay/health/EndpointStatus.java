package dev.r2relay.health;

import dev.r2relay.client.S3Errors;
import java.net.URI;
import java.time.Instant;
import java.util.Optional;

/**
 * What r2-relay last learnt about the S3 endpoint from a listing: the poller's own listings and
 * the readiness probe both report here, so that a relay that polls needs no extra request to
 * know whether the endpoint answers.
 */
public final class EndpointStatus {

    /** One listing's outcome: {@code failure} is null when it succeeded. */
    public record Observation(Instant at, String failure) {
        public boolean ok() {
            return failure == null;
        }
    }

    private final URI endpoint;
    private final String bucket;
    private volatile Observation last;

    public EndpointStatus(URI endpoint, String bucket) {
        this.endpoint = endpoint;
        this.bucket = bucket;
    }

    public void listed(Instant at) {
        last = new Observation(at, null);
    }

    public void failed(Instant at, Throwable failure) {
        last = new Observation(at, S3Errors.describe(failure, endpoint, bucket, null));
    }

    public Optional<Observation> last() {
        return Optional.ofNullable(last);
    }
}
