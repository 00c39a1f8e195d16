package dev.r2relay.delivery;

import dev.r2relay.metrics.RelayMetrics;
import dev.r2relay.poll.InFlight;
import dev.r2relay.state.DeliveryLedger;
import dev.r2relay.state.ObjectClaims;
import dev.r2relay.state.ObjectClaims.Claim;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.spi.Synchronization;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gate before a delivery: claims the object so that no other delivery of it runs at the same
 * time (a trigger's and a poll's in this process; with a shared ledger, any other instance's), and
 * releases the claim when the exchange ends, after its outcome is recorded. Once claimed, the
 * ledger is read again: an object another delivery settled since it was listed is not delivered.
 */
public final class DeliveryClaims {

    /** Set by {@link #claim}: true when this exchange may deliver the object. */
    public static final String CLAIMED = "R2RelayClaimed";

    private static final Logger LOG = LoggerFactory.getLogger("dev.r2relay.claims");

    /** What {@link #tryClaim} found. */
    public enum Outcome {
        /** Claimed: deliver it; the claim is released when the exchange ends. */
        CLAIMED,
        /** Settled at this ETag by another delivery since it was listed: nothing to do. */
        SETTLED,
        /** Another delivery has it now. */
        HELD
    }

    private final ObjectClaims claims;
    private final DeliveryLedger ledger;
    private final InFlight inFlight;
    private final RelayMetrics metrics;

    public DeliveryClaims(ObjectClaims claims, DeliveryLedger ledger, InFlight inFlight, RelayMetrics metrics) {
        this.claims = claims;
        this.ledger = ledger;
        this.inFlight = inFlight;
        this.metrics = metrics;
    }

    /** For the poller's route: sets {@link #CLAIMED}, so that a filter lets only claimed objects through. */
    public void claim(Exchange exchange) {
        exchange.getMessage().setHeader(CLAIMED, tryClaim(exchange) == Outcome.CLAIMED);
    }

    /** Claims the object the exchange's delivery headers name, for {@link RelayHeaders#ETAG}. */
    public Outcome tryClaim(Exchange exchange) {
        Message m = exchange.getMessage();
        String bucket = m.getHeader(RelayHeaders.BUCKET, String.class);
        String key = m.getHeader(RelayHeaders.KEY, String.class);
        String etag = m.getHeader(RelayHeaders.ETAG, String.class);
        if (ledger.shared() && etag != null && etag.equals(ledger.recordedEtag(bucket, key))) {
            // another instance settled it since this one listed it: a read, where a claim is a write
            return settledElsewhere(bucket, key);
        }
        Claim claim = claims.claim(bucket, key, etag);
        if (!claim.won()) {
            // not pending here: the holder delivers it (and counts it in its own lag)
            inFlight.settled(bucket, key);
            metrics.claim("held");
            LOG.debug("{}/{} is being delivered by {}; not here", bucket, key, claim.otherOwner());
            return Outcome.HELD;
        }
        if (etag != null && etag.equals(ledger.recordedEtag(bucket, key))) {
            claims.release(bucket, key);
            return settledElsewhere(bucket, key);
        }
        if (claim.result() == ObjectClaims.Result.TAKEN_OVER) {
            metrics.claim("taken_over");
            LOG.info("took over {}/{} from instance {}, whose claim ran out without a recorded delivery", bucket,
                    RejectedKeyException.printable(key), claim.otherOwner());
        } else {
            metrics.claim("claimed");
        }
        exchange.getExchangeExtension().addOnCompletion(new Synchronization() {
            @Override
            public void onComplete(Exchange done) {
                claims.release(bucket, key);
            }

            @Override
            public void onFailure(Exchange failed) {
                claims.release(bucket, key);
            }
        });
        return Outcome.CLAIMED;
    }

    private Outcome settledElsewhere(String bucket, String key) {
        inFlight.settled(bucket, key);
        metrics.claim("settled");
        LOG.debug("{}/{} was settled by another delivery since it was listed", bucket, key);
        return Outcome.SETTLED;
    }
}
