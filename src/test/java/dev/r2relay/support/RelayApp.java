package dev.r2relay.support;

import dev.r2relay.cli.R2RelayMain;
import dev.r2relay.state.DeliveryLedger;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.camel.CamelContext;
import org.apache.camel.main.Main;

/**
 * The real application, as the jar runs it (YAML routes from routes/, the same configuration
 * class), started in-process with test properties layered over application.properties.
 */
public final class RelayApp implements AutoCloseable {

    private final Main main;

    private RelayApp(Main main) {
        this.main = main;
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

    /** Starts the application; returns once its routes are started. */
    public static RelayApp start(Map<String, String> properties) throws Exception {
        Main main = R2RelayMain.newMain();
        properties.forEach(main::addOverrideProperty);
        main.start();
        return new RelayApp(main);
    }

    public CamelContext camel() {
        return main.getCamelContext();
    }

    public DeliveryLedger ledger() {
        return camel().getRegistry().lookupByNameAndType("deliveryLedger", DeliveryLedger.class);
    }

    @Override
    public void close() throws Exception {
        main.stop();
    }
}
