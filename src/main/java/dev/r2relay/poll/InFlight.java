package dev.r2relay.poll;

import dev.r2relay.delivery.RelayHeaders;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.camel.Exchange;
import org.apache.camel.spi.Synchronization;

/**
 * The keys handed to delivery and not finished yet. Polls run while large objects are still
 * being delivered; the lister skips these keys so that a poll never queues an object twice.
 */
public final class InFlight {

    private final Set<String> keys = ConcurrentHashMap.newKeySet();

    public boolean contains(String bucket, String key) {
        return keys.contains(bucket + '\u0000' + key);
    }

    /** Marks the exchange's object as in flight; called by the poll before it queues the object. */
    public void enter(Exchange exchange) {
        keys.add(id(exchange));
    }

    /**
     * Starts a queued object's delivery: its clock starts now (time spent queued is not delivery
     * time), and its mark clears when the exchange completes, whether it succeeded or failed.
     */
    public void startDelivery(Exchange exchange) {
        exchange.getMessage().setHeader(RelayHeaders.STARTED, System.nanoTime());
        String id = id(exchange);
        exchange.getExchangeExtension().addOnCompletion(new Synchronization() {
            @Override
            public void onComplete(Exchange done) {
                leave(id);
            }

            @Override
            public void onFailure(Exchange failed) {
                leave(id);
            }
        });
    }

    private void leave(String id) {
        keys.remove(id);
        if (keys.isEmpty()) {
            synchronized (this) {
                notifyAll();
            }
        }
    }

    public int size() {
        return keys.size();
    }

    /** Blocks until no delivery is in flight. */
    public synchronized void awaitEmpty() {
        while (!keys.isEmpty()) {
            try {
                wait(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static String id(Exchange exchange) {
        return exchange.getMessage().getHeader(RelayHeaders.BUCKET, String.class) + '\u0000'
                + exchange.getMessage().getHeader(RelayHeaders.KEY, String.class);
    }
}
