package dev.r2relay.cfqueue;

import dev.r2relay.config.RelaySettings;
import dev.r2relay.metrics.RelayMetrics;
import java.nio.file.Path;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Binds {@code cloudflareQueue}, the bean of routes/trigger-cloudflare-queue.camel.yaml, when
 * {@code relay.trigger.cloudflare-queue.enabled=true}; otherwise that route is not loaded and
 * nothing is bound. Runs after RelayConfiguration, whose settings and metrics it uses.
 */
public final class CloudflareQueueConfiguration implements CamelConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger("dev.r2relay");

    @Override
    public void configure(CamelContext camel) {
        CloudflareQueueSettings settings =
                CloudflareQueueSettings.from(camel.getPropertiesComponent()::resolveProperty);
        if (!settings.enabled()) {
            return;
        }
        var registry = camel.getRegistry();
        RelaySettings relay = registry.lookupByNameAndType("relaySettings", RelaySettings.class);
        RelayMetrics metrics = registry.lookupByNameAndType("relayMetrics", RelayMetrics.class);
        if (relay == null || metrics == null) {
            throw new IllegalStateException("CloudflareQueueConfiguration must be added after RelayConfiguration");
        }
        Path unreadable = relay.localState().resolve("cloudflare-queue")
                .resolve("unreadable");
        CloudflareQueueTrigger trigger = new CloudflareQueueTrigger(new CloudflareQueueClient(settings), settings,
                unreadable, metrics);
        registry.bind("cloudflareQueueSettings", settings);
        registry.bind("cloudflareQueue", trigger);
        LOG.info("Cloudflare Queue trigger: {} -> direct:deliver-{}; unreadable messages are kept in {}", settings,
                relay.triggerTarget(), unreadable);
    }
}
