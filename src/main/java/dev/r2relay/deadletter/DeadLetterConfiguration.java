package dev.r2relay.deadletter;

import dev.r2relay.config.RelaySettings;
import dev.r2relay.state.DeliveryLedger;
import java.io.IOException;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Binds {@code deadLetters}, the store {@code relay.dead-letter} names: a folder, or the queue store
 * JmsConfiguration bound. Runs after RelayConfiguration and JmsConfiguration.
 */
public final class DeadLetterConfiguration implements CamelConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger("dev.r2relay");

    @Override
    public void configure(CamelContext camel) throws Exception {
        var registry = camel.getRegistry();
        RelaySettings settings = registry.lookupByNameAndType("relaySettings", RelaySettings.class);
        DeliveryLedger ledger = registry.lookupByNameAndType("deliveryLedger", DeliveryLedger.class);
        String spec = camel.getPropertiesComponent().resolveProperty(DeadLetterStores.KEY).orElse("");
        DeadLetterStore store = DeadLetterStores.queueName(spec).isPresent()
                ? registry.lookupByNameAndType(DeadLetterStores.QUEUE_STORE, DeadLetterStore.class)
                : DeadLetterStores.open(spec, settings.localState().toString());
        if (store == null) {
            throw new IllegalStateException("DeadLetterConfiguration must be added after JmsConfiguration");
        }
        registry.bind("deadLetters", new DeadLetters(store, ledger));
        int waiting;
        try {
            waiting = store.list().size();
        } catch (IOException e) {
            // a broker that is down does not stop the start; a dead letter then fails like a delivery
            LOG.warn("Cannot count the dead letters: {}", e.getMessage());
            return;
        }
        if (waiting > 0) {
            LOG.warn("{} dead letter(s) in {}: list them with 'dead-letters', deliver them again with 'replay'",
                    waiting, store.describe());
        } else {
            LOG.debug("Dead letters go to {}", store.describe());
        }
    }
}
