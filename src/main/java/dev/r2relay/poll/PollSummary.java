package dev.r2relay.poll;

import dev.r2relay.client.RequestCounter;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports each poll at DEBUG, and at INFO at most once per {@code relay.summary-interval} when
 * something happened, so that a busy relay logs a readable summary as well as its per-object lines.
 */
public final class PollSummary {

    private static final Logger LOG = LoggerFactory.getLogger("dev.r2relay.poll");

    private final RequestCounter requests;
    private final InFlight inFlight;
    private final long intervalMillis;
    private final Runnable stopWhenIdle;
    private long lastInfo = System.currentTimeMillis();
    private String lastRequests = "";
    private long queuedSinceInfo;
    private long pollsSinceInfo;

    /** {@code stopWhenIdle}, when not null, is run once the poll's deliveries have all finished (run --once). */
    public PollSummary(RequestCounter requests, InFlight inFlight, long intervalMillis, Runnable stopWhenIdle) {
        this.requests = requests;
        this.inFlight = inFlight;
        this.intervalMillis = intervalMillis;
        this.stopWhenIdle = stopWhenIdle;
    }

    /**
     * The poll failed (its listing did not complete): run --once has no other pass to wait for, so
     * it stops once what was queued before the failure is delivered; the exit code reports it.
     */
    public void failed(Exchange exchange) {
        if (stopWhenIdle != null) {
            stopOnceIdle("the pass failed");
        }
    }

    private void stopOnceIdle(String why) {
        Thread waiter = new Thread(() -> {
            inFlight.awaitEmpty();
            LOG.info("{}; stopping; {}", why, requests.summary());
            stopWhenIdle.run();
        }, "relay-once");
        waiter.setDaemon(true);
        waiter.start();
    }

    public synchronized void log(Exchange exchange) {
        Object body = exchange.getMessage().getBody();
        if (!(body instanceof ObjectLister.Listing listing)) {
            return;
        }
        pollsSinceInfo++;
        queuedSinceInfo += listing.fresh();
        String counts = requests.summary();
        LOG.debug("poll: {} list request(s), {} keys listed, {} queued, {} in flight; {}", listing.pages(),
                listing.listed(), listing.fresh(), inFlight.size(), counts);
        long now = System.currentTimeMillis();
        if (stopWhenIdle != null) {
            stopOnceIdle("one pass done (" + listing.fresh() + " object(s) queued)");
            return;
        }
        if (now - lastInfo >= intervalMillis && !counts.equals(lastRequests)) {
            LOG.info("last {} s: {} poll(s), {} object(s) queued, {} in flight; {} since start",
                    (now - lastInfo) / 1000, pollsSinceInfo, queuedSinceInfo, inFlight.size(), counts);
            lastInfo = now;
            lastRequests = counts;
            queuedSinceInfo = 0;
            pollsSinceInfo = 0;
        }
    }
}
