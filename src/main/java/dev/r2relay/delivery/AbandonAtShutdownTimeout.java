package dev.r2relay.delivery;

import dev.r2relay.client.ResumingBodies;
import java.util.concurrent.TimeUnit;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.ShutdownStrategy;
import org.apache.camel.support.LifecycleStrategySupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Abandons the S3 transfers still under way once a stop has waited for them nearly as long as
 * {@code camel.main.shutdown-timeout} allows (1.5 s less). Camel's forced shutdown would otherwise
 * go on waiting for a delivery blocked on a silent connection, and the JVM end with it half done.
 * An abandoned delivery fails at once: its temporary file is removed (a large object keeps its
 * finished parts for the next start to resume) and nothing is recorded, so the next start
 * delivers it.
 */
public final class AbandonAtShutdownTimeout extends LifecycleStrategySupport {

    private static final Logger LOG = LoggerFactory.getLogger("dev.r2relay");

    /** How long before camel.main.shutdown-timeout the transfers are abandoned. */
    static final long EARLY_MS = 1500;

    private final ResumingBodies bodies;
    private volatile Thread timer;

    public AbandonAtShutdownTimeout(ResumingBodies bodies) {
        this.bodies = bodies;
    }

    @Override
    public void onContextStopping(CamelContext camel) {
        ShutdownStrategy shutdown = camel.getShutdownStrategy();
        long timeoutMs = shutdown.getTimeUnit().toMillis(shutdown.getTimeout());
        // a little before Camel's own timeout, which it checks once a second: once Camel forces the
        // routes down, its error handlers no longer run, and an abandoned delivery would not be
        // reported as the failure it is
        long abandonAfter = Math.max(0, timeoutMs - EARLY_MS);
        Thread t = new Thread(() -> {
            try {
                TimeUnit.MILLISECONDS.sleep(abandonAfter);
            } catch (InterruptedException e) {
                return; // stopped in time
            }
            // LIMITATION: only S3 transfers (and HTTP requests streaming or awaiting their answer) can
            // be abandoned; a JMS send the broker holds waits for the Artemis client's call timeout
            int open = bodies.abandonAll();
            if (open > 0) {
                LOG.warn("Stopping: {} transfer(s) still under way after camel.main.shutdown-timeout ({} ms) are"
                        + " abandoned; they are not recorded and the next start delivers them", open, timeoutMs);
            }
        }, "relay-shutdown-timeout");
        t.setDaemon(true);
        t.start();
        timer = t;
    }

    @Override
    public void onContextStopped(CamelContext camel) {
        Thread t = timer;
        if (t != null) {
            t.interrupt();
        }
    }
}
