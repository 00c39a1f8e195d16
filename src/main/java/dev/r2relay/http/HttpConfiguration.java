package dev.r2relay.http;

import dev.r2relay.config.RelaySettings;
import dev.r2relay.metrics.RelayMetrics;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.PropertiesComponent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Binds what routes/deliver-http*.camel.yaml and the HTTP error handling refer to: {@code
 * httpTarget} and {@code httpRetryPolicy}. The URL is required only when relay.target=http.
 */
public final class HttpConfiguration implements CamelConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger("dev.r2relay");

    @Override
    public void configure(CamelContext camel) throws Exception {
        PropertiesComponent properties = camel.getPropertiesComponent();
        RelaySettings relay = camel.getRegistry().lookupByNameAndType("relaySettings", RelaySettings.class);
        if (relay == null) {
            throw new IllegalStateException("HttpConfiguration must be added after RelayConfiguration");
        }
        String inUseBy = "http".equals(relay.target()) ? "relay.target=http"
                : "http".equals(relay.triggerTarget()) ? "relay.trigger.target=http" : null;
        boolean inUse = inUseBy != null;
        Properties configured = properties.loadProperties(k -> k.startsWith(HttpSettings.HEADERS_PREFIX));
        Set<String> headerKeys = new LinkedHashSet<>(HttpSettings.headerKeys(configured));
        headerKeys.addAll(HttpSettings.headerKeys(System.getProperties()));
        HttpSettings settings = HttpSettings.from(properties::resolveProperty, headerKeys, System.getenv(),
                inUseBy);
        maskHeaderValues(camel, settings);

        var registry = camel.getRegistry();
        registry.bind("httpSettings", settings);
        registry.bind("httpTarget", new HttpTarget(settings, HttpTarget.newClient(settings)));
        registry.bind("httpRetryPolicy", new HttpRetryPolicy(settings,
                registry.lookupByNameAndType("relayMetrics", RelayMetrics.class)));
        if (inUse) {
            LOG.info("HTTP target: {}", settings);
        }
    }

    /**
     * Camel's start-up summary prints property values unless the key's last word is a sensitive
     * one; header names (Authorization, X-Api-Key) are not, so they are added to that list, and
     * so is "url" when relay.http.url has a query (which may carry a token).
     */
    private static void maskHeaderValues(CamelContext camel, HttpSettings settings) {
        StringBuilder words = new StringBuilder();
        for (String name : settings.headers().keySet()) {
            words.append(',').append(name.toLowerCase(Locale.ROOT).replace("-", ""));
        }
        if (settings.url() != null && settings.url().contains("?")) {
            words.append(",url");
        }
        if (words.length() == 0) {
            return;
        }
        var extension = camel.getCamelContextExtension();
        String existing = extension.getAdditionalSensitiveKeywords();
        extension.setAdditionalSensitiveKeywords(existing == null || existing.isBlank() ? words.substring(1)
                : existing + words);
    }
}
