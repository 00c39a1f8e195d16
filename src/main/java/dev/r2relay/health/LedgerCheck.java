package dev.r2relay.health;

import dev.r2relay.state.DeliveryLedger;
import java.util.Map;
import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/** Readiness of the state store: the ledger answers a trivial query. */
public final class LedgerCheck extends AbstractHealthCheck {

    private final DeliveryLedger ledger;

    public LedgerCheck(DeliveryLedger ledger) {
        super("relay", "ledger");
        this.ledger = ledger;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        builder.detail("ledger", ledger.description());
        try {
            ledger.ping();
            builder.up();
        } catch (RuntimeException e) {
            builder.message("the ledger " + ledger.description() + " does not answer: " + e.getMessage());
            builder.error(e);
            builder.down();
        }
    }
}
