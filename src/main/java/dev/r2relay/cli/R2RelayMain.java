package dev.r2relay.cli;

import dev.r2relay.cfqueue.CloudflareQueueConfiguration;
import dev.r2relay.config.RelayConfiguration;
import dev.r2relay.config.RelaySettings;
import dev.r2relay.config.SettingsException;
import dev.r2relay.config.StepIds;
import dev.r2relay.config.TargetRoutes;
import dev.r2relay.deadletter.DeadLetterConfiguration;
import dev.r2relay.metrics.RelayMetrics;
import dev.r2relay.http.HttpConfiguration;
import dev.r2relay.jms.JmsConfiguration;
import dev.r2relay.state.LedgerException;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.PrintStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.camel.CamelContext;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.Main;
import org.apache.camel.main.MainListenerSupport;
import org.apache.camel.model.ModelCamelContext;

/**
 * The command line: {@code run} (the default) starts the routes in routes/, {@code fetch} gets one
 * object, {@code dead-letters} lists what a target gave up on and {@code replay} delivers it again.
 */
public final class R2RelayMain {

    /** Where the application reads its properties: the working directory, as the README says. */
    public static final String PROPERTIES = "file:application.properties;optional=true";

    static final String USAGE = """
            Usage: java -jar target/r2-relay.jar [COMMAND]

            Moves objects out of Cloudflare R2 (or any S3-compatible store) into a folder, a JMS
            queue or an HTTP endpoint.
            Reads routes/*.camel.yaml and application.properties from the working directory.

            Commands:
              run                 poll the bucket and deliver every new object (the default)
              run --once          list the bucket once, deliver what is new, then exit
                                  (exit code 1 when an object could not be delivered)
              fetch KEY [DEST]    fetch one object, print its metadata and write it to DEST
                                  (default: the key's file name here; '-' for standard output)
              dead-letters        list the objects a target gave up on (key, reason, attempts, time)
              replay [KEY...]     deliver dead letters again (all, or the named keys) through the
                                  configured target; stop the running relay first
              --help, -h          show this help

            Main settings (application.properties key, or the environment variable in brackets):
              r2.endpoint           [R2_ENDPOINT]        S3 endpoint URL; else built from r2.account-id,
                                                         else AWS_ENDPOINT_URL; none: embedded stand-in
              r2.account-id         [R2_ACCOUNT_ID]      Cloudflare account id
              r2.jurisdiction       [R2_JURISDICTION]    eu, fedramp or us (empty: default)
              r2.region             [R2_REGION]          default auto (AWS_REGION honoured)
              r2.access-key         [R2_ACCESS_KEY]      API token id (or AWS_ACCESS_KEY_ID)
              r2.api-token          [R2_API_TOKEN]       API token value; the secret is its SHA-256
              r2.secret-key         [R2_SECRET_KEY]      S3 secret (or AWS_SECRET_ACCESS_KEY)
              r2.session-token      [R2_SESSION_TOKEN]   temporary credentials (AWS_SESSION_TOKEN: with AWS keys only)
              r2.bucket             [R2_BUCKET]          bucket to read
              r2.prefix             [R2_PREFIX]          only keys under this prefix
              relay.inbox           [RELAY_INBOX]        folder objects land in, default inbox/
              relay.state           [RELAY_STATE]        folder of the delivery record, default data/;
                                                         or jdbc:postgresql://HOST:PORT/DB shared by several
                                                         instances (with relay.state.username, .password)
              relay.poll-interval   [RELAY_POLL_INTERVAL] milliseconds between polls, default 5000
              relay.after-delivery  [RELAY_AFTER_DELIVERY] keep (default), delete or move
              relay.http-server.enabled [RELAY_HTTP_SERVER_ENABLED] health and metrics over HTTP
                                    on relay.http-server.host:port (default 127.0.0.1:8080; off)
              relay.trigger.http.enabled [RELAY_TRIGGER_HTTP_ENABLED] also serve POST /fetch (off)
              relay.target          [RELAY_TARGET]       file (default), jms, http, or NAME for a route
                                                         from direct:deliver-NAME added in routes/
              relay.jms.url         [RELAY_JMS_URL]      external Artemis broker for JMS (tcp://host:61616);
                                                         empty: the embedded one on relay.jms.port (61616)
              relay.jms.queue       [RELAY_JMS_QUEUE]    queue for relay.target=jms, default r2.objects
              relay.http.url        [RELAY_HTTP_URL]     endpoint for relay.target=http; {key} in the
                                                         path stands for the URL-encoded key
              relay.http.headers.NAME [RELAY_HTTP_HEADERS_NAME] extra request header (value never logged)
              relay.dead-letter     [RELAY_DEAD_LETTER]  dead-letter folder (default data/dead-letters)
                                                         or JMS queue (jms:queue:NAME)
              relay.trigger.target  [RELAY_TRIGGER_TARGET] where triggered fetches go: as relay.target
                                                         (default file)
              relay.trigger.queue.enabled [RELAY_TRIGGER_QUEUE_ENABLED] fetch on messages on
                                    relay.trigger.queue (default r2.fetch-requests; off)
              relay.trigger.cloudflare-queue.enabled [RELAY_TRIGGER_CLOUDFLARE_QUEUE_ENABLED] pull R2
                                    event notifications from a Cloudflare Queue (off; needs its
                                    queue-id and api-token)
            The README lists every setting.

            Exit codes: 0 done, 1 failure (run --once: something was not delivered, or a start-up
            problem with the endpoint or credentials; replay: something still fails), 2 bad usage,
            settings or routes; fetch, dead-letters, replay: 3 object, bucket or dead letter not
            found, 4 access denied, 5 endpoint unreachable.
            """;

    /** Beyond camel.main.shutdown-timeout, camel-main's hook waits 15 s more before it gives up. */
    private static final long STOP_MARGIN_MS = 20_000;

    /** The application {@link #run} started, for the exit hook. */
    private static volatile Main running;

    private R2RelayMain() {
    }

    public static void main(String[] args) {
        int code;
        if (args.length > 0 && (args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help"))) {
            System.out.print(USAGE);
            code = 0;
        } else if (args.length == 0 || args[0].equals("run")) {
            String[] rest = args.length == 0 ? args : Arrays.copyOfRange(args, 1, args.length);
            boolean once = rest.length > 0 && rest[0].equals("--once");
            code = runToExit(once ? Arrays.copyOfRange(rest, 1, rest.length) : rest, once);
        } else if (args[0].equals("fetch")) {
            code = FetchCommand.run(Arrays.copyOfRange(args, 1, args.length), System.out, System.err);
        } else if (args[0].equals("dead-letters")) {
            code = DeadLettersCommand.run(Arrays.copyOfRange(args, 1, args.length), Map.of(), System.out,
                    System.err);
        } else if (args[0].equals("replay")) {
            code = ReplayCommand.run(Arrays.copyOfRange(args, 1, args.length), Map.of(), System.out, System.err);
        } else {
            System.err.println("r2-relay: unknown command '" + args[0] + "'\n");
            System.err.print(USAGE);
            code = 2;
        }
        System.exit(code);
    }

    /**
     * {@link #run} as the process: a SIGTERM (a service manager's stop, Ctrl-C) would end the JVM
     * with status 143 even after a clean stop, which service managers count as a failure. A shutdown
     * hook waits for the stop to finish (bounded by the shutdown timeout plus a margin) and ends
     * the process with run's own exit code: 0 after a clean stop.
     */
    private static int runToExit(String[] camelArgs, boolean once) {
        CompletableFuture<Integer> exit = new CompletableFuture<>();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                Runtime.getRuntime().halt(exit.get(stopBoundMs(), TimeUnit.MILLISECONDS));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException | TimeoutException e) {
                // the stop did not finish: the JVM ends as it would have
            }
        }, "r2-relay-exit"));
        int code = run(camelArgs, once, System.err);
        exit.complete(code);
        return code;
    }

    /** How long the exit hook waits for a stop: Camel's shutdown timeout plus what its own hook adds. */
    private static long stopBoundMs() {
        Main main = running;
        CamelContext camel = main == null ? null : main.getCamelContext();
        if (camel == null) {
            return STOP_MARGIN_MS;
        }
        var shutdown = camel.getShutdownStrategy();
        return shutdown.getTimeUnit().toMillis(shutdown.getTimeout()) + STOP_MARGIN_MS;
    }

    /** Runs the routes until the process is asked to stop; returns the exit code. */
    static int run(String[] camelArgs, boolean once, PrintStream err) {
        Main main = newMain();
        running = main;
        if (once) {
            main.addOverrideProperty("relay.exit-when-idle", "true");
            main.addOverrideProperty("relay.poll-count", "1");
        }
        // taken once started: when run returns, the stopped context no longer holds it
        AtomicReference<RelayMetrics> metrics = new AtomicReference<>();
        main.addMainListener(new MainListenerSupport() {
            @Override
            public void afterStart(BaseMainSupport support) {
                metrics.set(support.getCamelContext().getRegistry()
                        .lookupByNameAndType("relayMetrics", RelayMetrics.class));
            }
        });
        try {
            main.run(camelArgs);
            long failures = metrics.get() == null ? 0 : metrics.get().notDelivered();
            if (once && failures > 0) {
                err.println("r2-relay: the pass did not deliver everything: " + failures + " failure(s) (failed"
                        + " deliveries, dead letters, failed listings); see the WARN and ERROR lines");
                return 1;
            }
            return Math.max(0, main.getExitCode());
        } catch (Exception e) {
            return report(e, RouteSource.of(e, main.getCamelContext()).orElse(null), err);
        }
    }

    /** The Camel application as the jar runs it: YAML routes from routes/, properties from the working directory. */
    public static Main newMain() {
        Main main = new Main();
        main.setPropertyPlaceholderLocations(PROPERTIES);
        main.addInitialProperty("camel.main.name", "r2-relay");
        main.addInitialProperty("camel.main.routes-include-pattern", "file:routes/*.camel.yaml");
        // a stream cache would hold whole objects in memory; objects are streamed instead
        main.addInitialProperty("camel.main.stream-caching-enabled", "false");
        main.addInitialProperty("camel.main.shutdown-timeout", "30");
        // Camel masks r2.secret-key, r2.access-key and r2.session-token in its start-up summaries by
        // their last word, but not r2.api-token ('apitoken' is not among its keywords)
        main.addInitialProperty("camel.main.additional-sensitive-keywords", "apitoken");
        mapHttpServer(main);
        main.configure().addConfiguration(RelayConfiguration.class);
        // after RelayConfiguration: it uses the settings and the S3 client bound there
        main.configure().addConfiguration(JmsConfiguration.class);
        // after JmsConfiguration: a dead-letter queue uses its connection
        main.configure().addConfiguration(DeadLetterConfiguration.class);
        main.configure().addConfiguration(HttpConfiguration.class);
        main.configure().addConfiguration(CloudflareQueueConfiguration.class);
        // the routes are loaded but not started: a target no route serves stops the start here
        main.addMainListener(new MainListenerSupport() {
            @Override
            public void afterConfigure(BaseMainSupport support) {
                CamelContext camel = support.getCamelContext();
                try {
                    if (camel instanceof ModelCamelContext model) {
                        StepIds.scope(camel, model.getRouteDefinitions());
                    }
                    TargetRoutes.check(camel, camel.getRegistry().lookupByNameAndType("relaySettings",
                            RelaySettings.class));
                } catch (RuntimeException e) {
                    // camel-main never stops a context that did not start: close what configuring opened
                    AutoCloseable opened = camel.getRegistry().lookupByNameAndType(RelayConfiguration.RESOURCES,
                            AutoCloseable.class);
                    try {
                        if (opened != null) {
                            opened.close();
                        }
                    } catch (Exception closing) {
                        e.addSuppressed(closing);
                    }
                    throw e;
                }
            }
        });
        // ends run --once from a poll's thread without waiting on that thread
        main.bind(RelayConfiguration.STOP_HOOK, (Runnable) () -> new Thread(main::completed, "relay-stop").start());
        return main;
    }

    /**
     * Maps relay.http-server.* onto camel-main's embedded server, which is off unless enabled: one
     * Vert.x server serves POST /fetch (camel.server, for platform-http routes) and, on the same port,
     * health and Prometheus metrics (camel.management). camel.* keys set by the user still win.
     */
    private static void mapHttpServer(Main main) {
        String enabled = "{{relay.http-server.enabled:false}}";
        String host = "{{relay.http-server.host:127.0.0.1}}";
        String port = "{{relay.http-server.port:8080}}";
        main.addInitialProperty("camel.server.enabled", enabled);
        main.addInitialProperty("camel.server.host", host);
        main.addInitialProperty("camel.server.port", port);
        // trigger bodies are small; a larger body is refused (413) before it reaches the route
        main.addInitialProperty("camel.server.max-body-size", "1048576");
        main.addInitialProperty("camel.server.file-upload-enabled", "false");
        main.addInitialProperty("camel.management.enabled", enabled);
        main.addInitialProperty("camel.management.host", host);
        main.addInitialProperty("camel.management.port", port);
        main.addInitialProperty("camel.management.health-check-enabled", "true");
        main.addInitialProperty("camel.management.metrics-enabled", "true");
        main.addInitialProperty("camel.metrics.enabled", enabled);
        main.addInitialProperty("camel.health.enabled", "true");
        // one registry for Camel's route metrics and r2-relay's own, found by camel-micrometer-prometheus
        main.bind(RelayConfiguration.METER_REGISTRY, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    }

    /** Prints the cause a user can act on, without a stack trace, and picks the exit code. */
    static int report(Throwable e, PrintStream err) {
        return report(e, null, err);
    }

    /**
     * As {@link #report(Throwable, PrintStream)}, prefixed with {@code where} (the route file and
     * line at fault) when known: the deepest cause alone names an endpoint, not the file to fix.
     */
    static int report(Throwable e, String where, PrintStream err) {
        Throwable root = e;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SettingsException || t instanceof LedgerException
                    || t instanceof RelayConfiguration.StartupCheckException) {
                root = t;
                break;
            }
            root = t;
            if (t.getCause() == t) {
                break;
            }
        }
        err.println("r2-relay: " + (where == null ? "" : where + ": ") + describe(root));
        if (root instanceof SettingsException || root instanceof LedgerException) {
            return 2;
        }
        return 1;
    }

    private static String describe(Throwable root) {
        if (root instanceof NoSuchFileException missing) {
            // its message is the bare path, e.g. "routes" when run outside the application's folder
            Path file = Path.of(missing.getFile());
            return "no such file or folder: " + missing.getFile() + (file.isAbsolute() ? ""
                    : " (in the working directory " + Path.of("").toAbsolutePath() + ")");
        }
        return root.getMessage() == null ? root.toString() : root.getMessage();
    }
}
