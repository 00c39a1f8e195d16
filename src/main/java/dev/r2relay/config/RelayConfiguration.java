package dev.r2relay.config;

import dev.r2relay.client.R2ClientFactory;
import dev.r2relay.client.RequestCounter;
import dev.r2relay.client.ResumingBodies;
import dev.r2relay.client.S3Errors;
import dev.r2relay.delivery.AbandonAtShutdownTimeout;
import dev.r2relay.delivery.DeliveryClaims;
import dev.r2relay.delivery.DeliveryRecorder;
import dev.r2relay.delivery.FileTarget;
import dev.r2relay.delivery.RangedDownload;
import dev.r2relay.delivery.RelayHeaders;
import dev.r2relay.delivery.SourceCleanup;
import dev.r2relay.health.EndpointCheck;
import dev.r2relay.health.EndpointStatus;
import dev.r2relay.health.LedgerCheck;
import dev.r2relay.local.EmbeddedR2;
import dev.r2relay.metrics.RelayMetrics;
import dev.r2relay.poll.InFlight;
import dev.r2relay.poll.ObjectLister;
import dev.r2relay.poll.PollSummary;
import dev.r2relay.state.DeliveryLedger;
import dev.r2relay.state.ObjectClaims;
import dev.r2relay.trigger.HttpTrigger;
import dev.r2relay.trigger.TriggerParser;
import dev.r2relay.trigger.TriggeredFetch;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.health.HealthCheckRegistry;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.EncodingType;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.presigner.S3Presigner;

public final class RelayConfiguration implements CamelConfiguration {

    /** The registry name of the Runnable that ends the application (bound by the launcher). */
    public static final String STOP_HOOK = "relayStop";
    /** The registry name of the Micrometer registry (camel-micrometer's name; bound by the launcher). */
    public static final String METER_REGISTRY = "metricsRegistry";

    /**
     * What the configuration opened (stand-in, clients, ledger, claims), as one AutoCloseable: the
     * context's stop closes it, and so must a start that fails after the configuration.
     */
    public static final String RESOURCES = "relayResources";

    private static final Logger LOG = LoggerFactory.getLogger("dev.r2relay");

    @Override
    public void configure(CamelContext camel) throws Exception {
        PropertiesComponent properties = camel.getPropertiesComponent();
        RelaySettings settings = RelaySettings.from(properties::resolveProperty);
        if (settings.httpServerEnabled()) {
            // Vert.x only logs a port it cannot bind and the relay would run on without its server
            requireFreePort(settings.httpServerHost(), settings.httpServerPort());
        }

        // camel-main never stops a context whose configuration failed, so what is opened here is
        // closed here when a later step fails, and by the context's services otherwise
        List<AutoCloseable> opened = new ArrayList<>();
        S3Client s3;
        S3Presigner presigner;
        DeliveryLedger ledger;
        ObjectClaims claims;
        long settled;
        RequestCounter requests = new RequestCounter();
        try {
            if (settings.embedded()) {
                settings = startEmbedded(camel, settings, opened);
            }
            s3 = R2ClientFactory.client(settings, requests);
            opened.add(s3);
            presigner = R2ClientFactory.presigner(settings);
            opened.add(presigner);
            ledger = DeliveryLedger.open(settings.state(), settings.stateUsername(), settings.statePassword());
            opened.add(ledger);
            // after the ledger, so that a stop releases the claims before the ledger's pool closes
            claims = ledger.claims(instanceId(settings), settings.claimLease());
            opened.add(claims);
            settled = ledger.count();
            checkBucket(s3, settings);
        } catch (Exception e) {
            closeNow(e, opened);
            throw e;
        }
        AutoCloseable closer = closeOnce(opened);
        camel.getRegistry().bind(RESOURCES, AutoCloseable.class, closer);
        closeOnStop(camel, closer);
        // the routes compare sizes with relay.multipart-threshold; give them the value in use
        properties.addInitialProperty("relay.multipart-threshold", Long.toString(settings.multipartThreshold()));
        if (properties.resolveProperty("r2.bucket").isEmpty()) {
            // the routes name the bucket as {{r2.bucket}}; the embedded default has one of its own
            properties.addInitialProperty("r2.bucket", settings.bucket());
        }

        FileTarget fileTarget = new FileTarget(settings.inbox());
        // other instances may be writing into a shared inbox: their files are younger than a lease
        fileTarget.sweepTemporaryFiles(ledger.shared() ? settings.claimLease().multipliedBy(2) : Duration.ZERO);
        if ("file".equals(settings.target()) || ("file".equals(settings.triggerTarget())
                && settings.httpTriggerEnabled())) {
            String unwritable = fileTarget.unwritableReason();
            if (unwritable != null) {
                // like a broker that is down: objects wait in the bucket until the inbox takes them
                LOG.warn("relay.inbox (RELAY_INBOX): cannot write to {}: {}; every delivery to it fails (and is"
                        + " tried again at the next poll) until it can be written", settings.inbox(), unwritable);
            }
        }

        var registry = camel.getRegistry();
        registry.bind("relaySettings", settings);
        registry.bind("r2Client", S3Client.class, s3);
        registry.bind("r2Presigner", S3Presigner.class, presigner);
        registry.bind("deliveryLedger", ledger);
        InFlight inFlight = new InFlight();
        EndpointStatus endpointStatus = new EndpointStatus(settings.endpoint().orElse(null), settings.bucket());
        endpointStatus.listed(Instant.now()); // the start-up check above listed the bucket
        registry.bind("requestCounter", requests);
        registry.bind("inFlight", inFlight);
        Runnable stop = settings.exitWhenIdle()
                ? camel.getRegistry().lookupByNameAndType(STOP_HOOK, Runnable.class) : null;
        registry.bind("pollSummary", new PollSummary(requests, inFlight, settings.summaryInterval(), stop));
        registry.bind("objectLister", new ObjectLister(s3, ledger, settings.bucket(), settings.prefix(), inFlight,
                settings.incremental(), endpointStatus, ledger.shared()));
        ResumingBodies bodies = new ResumingBodies(s3, requests, settings.maxAttempts() - 1);
        camel.addLifecycleStrategy(new AbandonAtShutdownTimeout(bodies));
        registry.bind("relayHeaders", new RelayHeaders(bodies));
        registry.bind("fileTarget", fileTarget);
        registry.bind("rangedDownload", new RangedDownload(s3, settings.partSize(), settings.partConcurrency(),
                bodies));
        EndpointCheck endpointCheck = new EndpointCheck(s3, settings.bucket(), settings.prefix(), endpointStatus,
                Duration.ofMillis(settings.endpointCheckInterval()), Clock.systemUTC());
        RelayMetrics metrics = new RelayMetrics(meterRegistry(camel));
        metrics.bind(requests, inFlight, endpointCheck, Clock.systemUTC(), settings.target(),
                settings.triggerTarget());
        registry.bind("relayMetrics", metrics);
        registry.bind("deliveryRecorder", new DeliveryRecorder(ledger, settings.endpoint().orElse(null), metrics,
                inFlight, settings.target(), settings.triggerTarget()));
        DeliveryClaims deliveryClaims = new DeliveryClaims(claims, ledger, inFlight, metrics);
        registry.bind("deliveryClaims", deliveryClaims);
        registry.bind("sourceCleanup", new SourceCleanup(s3, settings));
        TriggerParser triggerParser = new TriggerParser(settings.bucket());
        registry.bind("triggerParser", triggerParser);
        registry.bind("triggeredFetch", new TriggeredFetch(s3, ledger, deliveryClaims, triggerParser, settings.inbox(),
                settings.triggerDeleteFiles()));
        registry.bind("httpTrigger", new HttpTrigger(triggerParser));
        registerHealthChecks(camel, endpointCheck, new LedgerCheck(ledger));

        LOG.info("r2-relay: {} -> {} ({}, {} at once, after delivery: {}); ledger {} holds {} objects",
                settings, "file".equals(settings.target()) ? settings.inbox() : "target " + settings.target(),
                settings.pollEnabled() ? "poll every " + settings.pollInterval() + " ms" : "poller off",
                settings.concurrency(), settings.afterDelivery().name().toLowerCase(), ledger.description(), settled);
        if (ledger.shared()) {
            LOG.info("Shared ledger: this instance is {}; its claims last {} ms unless renewed, and other instances"
                    + " take over those of an instance that stops renewing", claims.owner(),
                    settings.claimLease().toMillis());
        }
        if (settings.httpServerEnabled()) {
            String base = "http://" + settings.httpServerHost() + ":" + settings.httpServerPort();
            LOG.info("HTTP server on {}: readiness {}/observe/health/ready, metrics {}/observe/metrics{}", base,
                    base, base, settings.httpTriggerEnabled() ? ", trigger POST " + base + "/fetch" : "");
        }
    }

    /**
     * This run's name in the claims: relay.instance-name (the host name by default), the process id
     * and a random suffix, so that a restarted instance (in a container, often the same host and
     * pid) never renews the claims its previous run left.
     */
    private static String instanceId(RelaySettings settings) {
        return settings.instanceName() + "-" + ProcessHandle.current().pid() + "-"
                + Long.toString(java.util.concurrent.ThreadLocalRandom.current().nextLong(1L << 40), 36);
    }

    /** The registry camel-main's Prometheus endpoint scrapes; a plain one if the launcher bound none. */
    private static MeterRegistry meterRegistry(CamelContext camel) {
        MeterRegistry found = camel.getRegistry().lookupByNameAndType(METER_REGISTRY, MeterRegistry.class);
        return found != null ? found : new SimpleMeterRegistry();
    }

    private static void registerHealthChecks(CamelContext camel, EndpointCheck endpoint, LedgerCheck ledger) {
        HealthCheckRegistry health = HealthCheckRegistry.get(camel);
        if (health == null) {
            return;
        }
        endpoint.setCamelContext(camel);
        ledger.setCamelContext(camel);
        health.register(endpoint);
        health.register(ledger);
    }

    private static RelaySettings startEmbedded(CamelContext camel, RelaySettings settings, List<AutoCloseable> opened)
            throws Exception {
        Path root = settings.localState().resolve("embedded-r2");
        EmbeddedR2 local = EmbeddedR2.onFolder(root, settings.embeddedPort(), EmbeddedR2.ACCESS_KEY,
                EmbeddedR2.SECRET_KEY);
        opened.add(local);
        int seeded = local.seed(settings.bucket(), settings.samples());
        LOG.info("No R2 endpoint configured: serving bucket '{}' from a local S3-compatible stand-in at {}"
                        + " (S3Proxy over {}; {} new sample file(s) copied from {}).",
                settings.bucket(), local.endpoint(), root, seeded, settings.samples().toAbsolutePath().normalize());
        LOG.info("Upload to it with: AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={}"
                        + " AWS_REQUEST_CHECKSUM_CALCULATION=when_required aws s3 cp FILE s3://{}/KEY --endpoint-url {}",
                EmbeddedR2.ACCESS_KEY, EmbeddedR2.SECRET_KEY, settings.bucket(), local.endpoint());
        return settings.withEndpoint(local.endpoint(), EmbeddedR2.ACCESS_KEY, EmbeddedR2.SECRET_KEY);
    }

    /** Fails the start, naming relay.http-server.port, when another process listens on {@code port}. */
    private static void requireFreePort(String host, int port) {
        if (port == 0) {
            return;
        }
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress(host, port));
        } catch (BindException e) {
            throw new SettingsException("relay.http-server.port (RELAY_HTTP_SERVER_PORT): " + host + ":" + port
                    + " is taken by another process (" + e.getMessage() + "); choose a free port");
        } catch (IOException e) {
            throw new SettingsException("relay.http-server.host (RELAY_HTTP_SERVER_HOST): cannot listen on " + host
                    + ":" + port + ": " + e.getMessage());
        }
    }

    /** One cheap list request: fails start-up with a clear message on bad credentials or bucket. */
    private static void checkBucket(S3Client s3, RelaySettings settings) {
        try {
            ListObjectsV2Request.Builder probe = ListObjectsV2Request.builder().bucket(settings.bucket()).maxKeys(1)
                    .encodingType(EncodingType.URL); // as the poll lists: any key, even one XML cannot carry
            if (!settings.prefix().isEmpty()) {
                probe.prefix(settings.prefix());
            }
            s3.listObjectsV2(probe.build());
        } catch (RuntimeException e) {
            throw new StartupCheckException(S3Errors.describe(e, settings.endpoint().orElse(null),
                    settings.bucket(), null));
        }
    }

    private static void closeNow(Exception failure, List<AutoCloseable> resources) {
        for (int i = resources.size() - 1; i >= 0; i--) {
            AutoCloseable resource = resources.get(i);
            try {
                resource.close();
            } catch (Exception e) {
                failure.addSuppressed(e);
            }
        }
    }

    /** Closes {@code resources} last opened first, once: on the context's stop or a failed start. */
    private static AutoCloseable closeOnce(List<AutoCloseable> resources) {
        AtomicBoolean closed = new AtomicBoolean();
        return () -> {
            if (closed.compareAndSet(false, true)) {
                Exception failure = new Exception("closing the relay's resources failed");
                closeNow(failure, resources);
                if (failure.getSuppressed().length > 0) {
                    throw failure;
                }
            }
        };
    }

    private static void closeOnStop(CamelContext camel, AutoCloseable resource) throws Exception {
        camel.addService(new ServiceSupport() {
            @Override
            protected void doStop() {
                try {
                    resource.close();
                } catch (Exception e) {
                    for (Throwable cause : e.getSuppressed()) {
                        LOG.warn("Closing the relay's resources: {}: {}", cause.getClass().getSimpleName(),
                                cause.getMessage());
                    }
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
