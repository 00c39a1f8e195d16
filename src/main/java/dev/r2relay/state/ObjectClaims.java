package dev.r2relay.state;

/**
 * Who may deliver an object now. A delivery claims its object first and releases it once the
 * outcome is recorded; a claim held by another delivery (in this process or, with a shared
 * ledger, in another instance) keeps this one from starting.
 */
public interface ObjectClaims extends AutoCloseable {

    /** What a claim attempt found. */
    enum Result {
        /** The object was free: deliver it. */
        CLAIMED,
        /** Its claim had expired (its holder died or stalled): taken over, deliver it. */
        TAKEN_OVER,
        /** Another delivery holds it. */
        HELD
    }

    /** The outcome, and the instance that held the claim before (TAKEN_OVER) or holds it (HELD). */
    record Claim(Result result, String otherOwner) {
        public boolean won() {
            return result != Result.HELD;
        }
    }

    /** Tries to claim the object for a delivery of {@code etag}; never waits for another holder. */
    Claim claim(String bucket, String key, String etag);

    /** Gives the object up once its delivery ended; a claim no longer held is left alone. */
    void release(String bucket, String key);

    /** The name other instances see on this instance's claims. */
    String owner();

    /** Stops renewing and gives up every claim still held (a clean stop). */
    @Override
    void close();
}
