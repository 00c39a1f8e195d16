package dev.r2relay.support;

import dev.r2relay.cli.R2RelayMain;
import dev.r2relay.state.DeliveryLedger;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.Route;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.Main;
import org.apache.camel.main.MainListenerSupport;
import org.apache.camel.support.RoutePolicySupport;

/**
 * The real application, as the jar runs it (YAML routes from routes/, the same configuration
 * class), started in-process with test properties layered over application.properties.
 */
public final class RelayApp implements AutoCloseable {

    /** The route whose every exchange is one poll: a listing plus the deliveries it started. */
    private static final String POLL_ROUTE = "poll-bucket";

    private final Main main;
    private final AtomicLong polls;

    private RelayApp(Main main, AtomicLong polls) {
        this.main = main;
        this.polls = polls;
    }

    /** Settings pointing at {@code server}'s bucket, with inbox and state below {@code work}. */
    public static Map<String, String> settingsFor(S3Server server, String bucket, Path work) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("r2.endpoint", server.endpoint().toString());
        p.put("r2.access-key", server.accessKey());
        p.put("r2.secret-key", server.secretKey());
        p.put("r2.region", "us-east-1");
        p.put("r2.bucket", bucket);
        p.put("relay.inbox", work.resolve("inbox").toString());
        p.put("relay.state", work.resolve("state").toString());
        p.put("relay.poll-interval", "200");
        p.put("r2.max-attempts", "2");
        return p;
    }

    /** Starts the application; returns once its routes are started, or stops what it opened and throws. */
    public static RelayApp start(Map<String, String> properties) throws Exception {
        Main main = R2RelayMain.newMain();
        properties.forEach(main::addOverrideProperty);
        AtomicLong polls = new AtomicLong();
        main.addMainListener(new MainListenerSupport() {
            @Override
            public void beforeConfigure(BaseMainSupport support) {
                support.getCamelContext().addRoutePolicyFactory((camel, routeId, route) ->
                        POLL_ROUTE.equals(routeId) ? new PollCounter(polls) : null);
            }
        });
        try {
            main.start();
        } catch (Exception | Error e) {
            // a failed start leaves the ledger and the S3 client open; the CLI exits, a test goes on
            try {
                main.stop();
            } catch (Exception stopFailure) {
                e.addSuppressed(stopFailure);
            }
            throw e;
        }
        return new RelayApp(main, polls);
    }

    public CamelContext camel() {
        return main.getCamelContext();
    }

    public DeliveryLedger ledger() {
        return camel().getRegistry().lookupByNameAndType("deliveryLedger", DeliveryLedger.class);
    }

    /**
     * Polls completed so far, each with every delivery it started. Works on any server; wait for
     * two more than seen after an event to know that a whole poll ran after it.
     */
    public long completedPolls() {
        return polls.get();
    }

    @Override
    public void close() throws Exception {
        main.stop();
    }

    /** Counts the poll route's exchanges as they finish. */
    private static final class PollCounter extends RoutePolicySupport {
        private final AtomicLong polls;

        PollCounter(AtomicLong polls) {
            this.polls = polls;
        }

        @Override
        public void onExchangeDone(Route route, Exchange exchange) {
            polls.incrementAndGet();
        }
    }
}
