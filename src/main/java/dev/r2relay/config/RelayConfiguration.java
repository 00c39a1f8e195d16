package dev.r2relay.config;

import dev.r2relay.client.R2ClientFactory;
import dev.r2relay.client.S3Errors;
import dev.r2relay.delivery.DeliveryRecorder;
import dev.r2relay.delivery.FileTarget;
import dev.r2relay.delivery.RelayHeaders;
import dev.r2relay.delivery.SourceCleanup;
import dev.r2relay.local.EmbeddedR2;
import dev.r2relay.poll.ObjectLister;
import dev.r2relay.state.DeliveryLedger;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.spi.ThreadPoolProfile;
import org.apache.camel.support.service.ServiceSupport;
import org.apache.camel.util.concurrent.ThreadPoolRejectedPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

/**
 * Builds what the YAML routes refer to by name: the shared R2 client (which aws2-s3 autowires),
 * the ledger, the lister, the targets and the delivery pool. Runs before any route starts.
 */
public final class RelayConfiguration implements CamelConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger("dev.r2relay");

    @Override
    public void configure(CamelContext camel) throws Exception {
        PropertiesComponent properties = camel.getPropertiesComponent();
        RelaySettings settings = RelaySettings.from(properties::resolveProperty);

        if (settings.embedded()) {
            settings = startEmbedded(camel, settings);
        }
        if (properties.resolveProperty("r2.bucket").isEmpty()) {
            // the routes name the bucket as {{r2.bucket}}; the embedded default has one of its own
            properties.addInitialProperty("r2.bucket", settings.bucket());
        }
        S3Client s3 = R2ClientFactory.client(settings);
        S3Presigner presigner = R2ClientFactory.presigner(settings);
        DeliveryLedger ledger = DeliveryLedger.open(settings.state());
        closeOnStop(camel, "the ledger", ledger);
        closeOnStop(camel, "the S3 client", s3);
        closeOnStop(camel, "the S3 presigner", presigner);
        long settled;
        try {
            settled = ledger.count();
            checkBucket(s3, settings);
        } catch (RuntimeException e) {
            // camel-main never stops a context whose configuration failed, so the services above
            // would not run: close here what a failed start would otherwise leave open
            closeNow(e, ledger, s3, presigner);
            throw e;
        }

        FileTarget fileTarget = new FileTarget(settings.inbox());
        fileTarget.sweepTemporaryFiles();

        var registry = camel.getRegistry();
        registry.bind("relaySettings", settings);
        registry.bind("r2Client", S3Client.class, s3);
        registry.bind("r2Presigner", S3Presigner.class, presigner);
        registry.bind("deliveryLedger", ledger);
        registry.bind("objectLister", new ObjectLister(s3, ledger, settings.bucket(), settings.prefix()));
        registry.bind("relayHeaders", new RelayHeaders());
        registry.bind("fileTarget", fileTarget);
        registry.bind("deliveryRecorder", new DeliveryRecorder(ledger, settings.endpoint().orElse(null)));
        registry.bind("sourceCleanup", new SourceCleanup(s3, settings));
        registry.bind("relayDeliveryPool", ExecutorService.class, deliveryPool(camel, settings.concurrency()));

        LOG.info("r2-relay: {} -> {} (poll every {} ms, {} at once, after delivery: {}); ledger {} holds {} objects",
                settings, settings.inbox(), settings.pollInterval(), settings.concurrency(),
                settings.afterDelivery().name().toLowerCase(), ledger.description(), settled);
    }

    private static RelaySettings startEmbedded(CamelContext camel, RelaySettings settings) throws Exception {
        Path root = Path.of(settings.state()).toAbsolutePath().normalize().resolve("embedded-r2");
        EmbeddedR2 local = EmbeddedR2.onFolder(root, settings.embeddedPort(), EmbeddedR2.ACCESS_KEY,
                EmbeddedR2.SECRET_KEY);
        closeOnStop(camel, "the embedded S3 stand-in", local);
        int seeded = local.seed(settings.bucket(), settings.samples());
        LOG.info("No R2 endpoint configured: serving bucket '{}' from a local S3-compatible stand-in at {}"
                        + " (S3Proxy over {}; {} new sample file(s) copied from {}).",
                settings.bucket(), local.endpoint(), root, seeded, settings.samples().toAbsolutePath().normalize());
        LOG.info("Upload to it with: AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}"
                        + " AWS_REQUEST_CHECKSUM_CALCULATION=when_required aws s3 cp FILE s3://{}/KEY --endpoint-url {}",
                EmbeddedR2.ACCESS_KEY, EmbeddedR2.SECRET_KEY, settings.bucket(), local.endpoint());
        return settings.withEndpoint(local.endpoint(), EmbeddedR2.ACCESS_KEY, EmbeddedR2.SECRET_KEY);
    }

    /** One cheap list request: fails start-up with a clear message on bad credentials or bucket. */
    private static void checkBucket(S3Client s3, RelaySettings settings) {
        try {
            ListObjectsV2Request.Builder probe = ListObjectsV2Request.builder().bucket(settings.bucket()).maxKeys(1);
            if (!settings.prefix().isEmpty()) {
                probe.prefix(settings.prefix());
            }
            s3.listObjectsV2(probe.build());
        } catch (RuntimeException e) {
            throw new StartupCheckException(S3Errors.describe(e, settings.endpoint().orElse(null),
                    settings.bucket(), null));
        }
    }

    private static ExecutorService deliveryPool(CamelContext camel, int concurrency) {
        ThreadPoolProfile profile = new ThreadPoolProfile("relayDeliveryPool");
        profile.setPoolSize(concurrency);
        profile.setMaxPoolSize(concurrency);
        profile.setMaxQueueSize(concurrency);
        profile.setRejectedPolicy(ThreadPoolRejectedPolicy.CallerRuns);
        return camel.getExecutorServiceManager().newThreadPool(camel, "relay-delivery", profile);
    }

    private static void closeNow(Exception failure, AutoCloseable... resources) {
        for (AutoCloseable resource : resources) {
            try {
                resource.close();
            } catch (Exception e) {
                failure.addSuppressed(e);
            }
        }
    }

    private static void closeOnStop(CamelContext camel, String what, AutoCloseable resource) throws Exception {
        camel.addService(new ServiceSupport() {
            @Override
            protected void doStop() {
                try {
                    resource.close();
                } catch (Exception e) {
                    LOG.warn("Closing {} failed: {}", what, e.getMessage());
                }
            }
        }, true, true);
    }

    /** The store or the endpoint is not usable; the message says which setting to fix. */
    public static final class StartupCheckException extends RuntimeException {
        public StartupCheckException(String message) {
            super(message);
        }
    }
}
