package dev.r2relay.deadletter;

import dev.r2relay.config.RelaySettings;
import dev.r2relay.state.DeliveryLedger;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Binds {@code deadLetters}, the store {@code relay.dead-letter} names. Runs after RelayConfiguration. */
public final class DeadLetterConfiguration implements CamelConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger("dev.r2relay");

    @Override
    public void configure(CamelContext camel) throws Exception {
        var registry = camel.getRegistry();
        RelaySettings settings = registry.lookupByNameAndType("relaySettings", RelaySettings.class);
        DeliveryLedger ledger = registry.lookupByNameAndType("deliveryLedger", DeliveryLedger.class);
        DeadLetterStore store = DeadLetterStores.open(
                camel.getPropertiesComponent().resolveProperty(DeadLetterStores.KEY).orElse(""), settings.state());
        registry.bind("deadLetters", new DeadLetters(store, ledger));
        if (store.browsable()) {
            int waiting = store.list().size();
            if (waiting > 0) {
                LOG.warn("{} dead letter(s) in {}: list them with 'dead-letters', deliver them again with 'replay'",
                        waiting, store.describe());
            } else {
                LOG.debug("Dead letters go to {}", store.describe());
            }
        }
    }
}
