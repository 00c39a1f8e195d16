package dev.r2relay.poll;

import dev.r2relay.delivery.RelayHeaders;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.camel.Exchange;
import org.apache.camel.spi.Synchronization;

/**
 * The objects a poll handed to delivery and that are not delivered yet: those queued or being
 * delivered (in flight), and those whose delivery failed and wait for the next poll. Polls run
 * while large objects are still being delivered; the lister skips in-flight keys so that a poll
 * never queues an object twice. The last-modified times give the relay's lag.
 */
public final class InFlight {

    /** At most this many failed objects are remembered for the lag; the oldest are kept. */
    static final int MAX_WAITING = 10_000;

    private static final Instant UNKNOWN = Instant.EPOCH;

    private final Map<String, Instant> keys = new ConcurrentHashMap<>();
    private final Map<String, Waiting> waiting = new HashMap<>();
    private final TreeSet<Waiting> waitingByAge = new TreeSet<>(
            Comparator.comparing(Waiting::lastModified).thenComparing(Waiting::id));
    private long generation;

    /** A failed object, and the poll during which it failed. */
    private record Waiting(String id, Instant lastModified, long generation) {
    }

    public boolean contains(String bucket, String key) {
        return keys.containsKey(bucket + '\u0000' + key);
    }

    /** Marks the exchange's object as in flight; called by the poll before it queues the object. */
    public void enter(Exchange exchange) {
        Instant modified = exchange.getMessage().getHeader(RelayHeaders.LAST_MODIFIED, Instant.class);
        String id = id(exchange);
        keys.put(id, modified == null ? UNKNOWN : modified);
        synchronized (this) {
            removeWaiting(id);
        }
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

    /** The object is delivered or rejected (by a poll's delivery or a trigger): no longer pending. */
    public void settled(String bucket, String key) {
        String id = bucket + '\u0000' + key;
        Instant removed = keys.remove(id);
        synchronized (this) {
            removeWaiting(id);
            if (removed != null && keys.isEmpty()) {
                notifyAll();
            }
        }
    }

    /** A delivery ended; unless it settled the object, the object waits for the next poll. */
    private void leave(String id) {
        Instant modified = keys.remove(id);
        synchronized (this) {
            if (modified != null && !modified.equals(UNKNOWN)) {
                addWaiting(new Waiting(id, modified, generation));
            }
            if (keys.isEmpty()) {
                notifyAll();
            }
        }
    }

    private void addWaiting(Waiting w) {
        removeWaiting(w.id());
        if (waiting.size() >= MAX_WAITING) {
            // LIMITATION: beyond MAX_WAITING failed objects only the oldest are remembered, so the lag
            // can read low until the next poll once those are delivered
            Waiting newest = waitingByAge.last();
            if (!w.lastModified().isBefore(newest.lastModified())) {
                return;
            }
            removeWaiting(newest.id());
        }
        waiting.put(w.id(), w);
        waitingByAge.add(w);
    }

    private void removeWaiting(String id) {
        Waiting w = waiting.remove(id);
        if (w != null) {
            waitingByAge.remove(w);
        }
    }

    /** A poll starts listing; returns its number for {@link #pollCompleted(long)}. */
    public synchronized long pollStarted() {
        return ++generation;
    }

    /**
     * A poll listed the whole bucket and queued what it found: failed objects that it did not
     * queue again are gone or were settled meanwhile, and no longer count as pending.
     */
    public synchronized void pollCompleted(long poll) {
        waiting.values().removeIf(w -> {
            boolean stale = w.generation() < poll;
            if (stale) {
                waitingByAge.remove(w);
            }
            return stale;
        });
    }

    /** The last-modified time of the oldest object not delivered yet (queued, in flight or failed). */
    public Optional<Instant> oldestPending() {
        Instant oldest = null;
        for (Instant modified : keys.values()) {
            if (!modified.equals(UNKNOWN) && (oldest == null || modified.isBefore(oldest))) {
                oldest = modified;
            }
        }
        synchronized (this) {
            if (!waitingByAge.isEmpty()) {
                Instant failed = waitingByAge.first().lastModified();
                if (oldest == null || failed.isBefore(oldest)) {
                    oldest = failed;
                }
            }
        }
        return Optional.ofNullable(oldest);
    }

    /** Objects queued or being delivered. */
    public int size() {
        return keys.size();
    }

    /** Objects whose delivery failed and that the next poll tries again. */
    public synchronized int waiting() {
        return waiting.size();
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
