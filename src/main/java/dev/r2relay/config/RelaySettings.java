package dev.r2relay.config;

import dev.r2relay.state.StateStores;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;

/**
 * Every setting r2-relay reads, resolved once from Camel's properties (application.properties,
 * overridden by environment variables and system properties) plus the standard AWS variables.
 * Secrets are held here and nowhere else; {@link #toString()} never shows them.
 */
public final class RelaySettings {

    /** Where the objects come from: a real endpoint, or none (the embedded stand-in). */
    private final Optional<URI> endpoint;
    private final String endpointSource;
    private final String region;
    private final String accessKey;
    private final String secretKey;
    private final String sessionToken;
    private final String bucket;
    private final String prefix;
    private final boolean pathStyle;
    private final Path inbox;
    private final String state;
    private final String stateUsername;
    private final String statePassword;
    private final Path localState;
    private final String instanceName;
    private final Duration claimLease;
    private final long pollInterval;
    private final int concurrency;
    private final int maxConnections;
    private final Duration connectTimeout;
    private final Duration readTimeout;
    private final int maxAttempts;
    private final AfterDelivery afterDelivery;
    private final String moveBucket;
    private final String movePrefix;
    private final int embeddedPort;
    private final Path samples;
    private final boolean triggerDeleteFiles;
    private final long summaryInterval;
    private final boolean incremental;
    private final boolean exitWhenIdle;
    private final boolean pollEnabled;
    private final long multipartThreshold;
    private final long partSize;
    private final int partConcurrency;
    private final String target;
    private final String triggerTarget;
    private final boolean httpServerEnabled;
    private final String httpServerHost;
    private final int httpServerPort;
    private final boolean httpTriggerEnabled;
    private final long endpointCheckInterval;

    /** What happens to an object in the bucket once it is delivered. */
    public enum AfterDelivery { KEEP, DELETE, MOVE }

    private RelaySettings(Lookup in) {
        this.endpoint = resolveEndpoint(in);
        this.endpointSource = in.endpointSource;
        this.region = in.first("r2.region", "AWS_REGION").orElse("auto");
        Optional<String> token = in.get("r2.api-token");
        Optional<String> r2Key = in.get("r2.access-key");
        Optional<String> configuredKey = r2Key.or(() -> in.env("AWS_ACCESS_KEY_ID"));
        Optional<String> configuredSecret = in.get("r2.secret-key");
        if (token.isPresent() && configuredSecret.isPresent()) {
            throw new SettingsException("Set either r2.api-token (R2_API_TOKEN) or r2.secret-key"
                    + " (R2_SECRET_KEY), not both: the secret is derived from the API token.");
        }
        this.accessKey = configuredKey.orElse(null);
        this.secretKey = token.map(RelaySettings::secretFromApiToken)
                .or(() -> configuredSecret)
                .or(() -> in.env("AWS_SECRET_ACCESS_KEY"))
                .orElse(null);
        // AWS_SESSION_TOKEN belongs to AWS_ACCESS_KEY_ID: beside r2.access-key it is most likely
        // left over from another login, and the keys it would be sent with are not its own
        this.sessionToken = in.get("r2.session-token")
                .or(() -> r2Key.isEmpty() ? in.env("AWS_SESSION_TOKEN") : Optional.empty())
                .orElse(null);
        this.bucket = in.get("r2.bucket").orElse(endpoint.isEmpty() ? "r2-relay-local" : null);
        this.prefix = in.get("r2.prefix").orElse("");
        this.pathStyle = in.bool("r2.path-style", true);
        this.inbox = Path.of(in.get("relay.inbox").orElse("inbox/")).toAbsolutePath().normalize();
        this.state = in.get("relay.state").orElse("data/");
        this.stateUsername = in.get("relay.state.username").orElse(null);
        this.statePassword = in.get("relay.state.password").orElse(null);
        this.localState = localState(state, in.get("relay.local-state"));
        this.instanceName = in.get("relay.instance-name").orElseGet(RelaySettings::hostName);
        this.claimLease = Duration.ofMillis(in.positiveLong("relay.claim-lease", 30_000));
        this.pollInterval = in.positiveLong("relay.poll-interval", 5000);
        this.concurrency = (int) in.positiveLong("relay.concurrency", 16);
        this.multipartThreshold = in.positiveLong("relay.multipart-threshold", 64L << 20);
        this.partSize = in.positiveLong("relay.part-size", 16L << 20);
        this.partConcurrency = (int) in.positiveLong("relay.part-concurrency", 4);
        this.maxConnections = (int) in.positiveLong("r2.max-connections",
                Math.max(16, (long) concurrency * Math.max(2, partConcurrency)));
        this.connectTimeout = Duration.ofMillis(in.positiveLong("r2.connect-timeout", 5_000));
        this.readTimeout = Duration.ofMillis(in.positiveLong("r2.read-timeout", 60_000));
        this.maxAttempts = (int) in.positiveLong("r2.max-attempts", 5);
        this.afterDelivery = in.enumValue("relay.after-delivery", AfterDelivery.KEEP);
        this.moveBucket = in.get("relay.move-bucket").orElse(null);
        this.movePrefix = in.get("relay.move-prefix").orElse("");
        this.embeddedPort = (int) in.nonNegativeLong("relay.embedded.port", 9500);
        this.samples = Path.of(in.get("relay.embedded.samples").orElse("samples/"));
        this.triggerDeleteFiles = in.bool("relay.trigger.delete-files", false);
        this.summaryInterval = in.positiveLong("relay.summary-interval", 60_000);
        this.incremental = in.bool("relay.incremental", false);
        this.exitWhenIdle = in.bool("relay.exit-when-idle", false);
        this.pollEnabled = in.bool("relay.poll.enabled", true);
        if (exitWhenIdle && !pollEnabled) {
            // the poll is the pass run --once waits for; without it the process would never end
            throw new SettingsException("run --once (relay.exit-when-idle) ends after one poll, but relay.poll.enabled"
                    + " (RELAY_POLL_ENABLED) is false: use run to serve triggers, or turn the poller on");
        }
        this.target = in.target("relay.target");
        this.triggerTarget = in.target("relay.trigger.target");
        this.httpServerEnabled = in.bool("relay.http-server.enabled", false);
        this.httpServerHost = in.get("relay.http-server.host").orElse("127.0.0.1");
        this.httpServerPort = (int) in.nonNegativeLong("relay.http-server.port", 8080);
        this.httpTriggerEnabled = in.bool("relay.trigger.http.enabled", false);
        this.endpointCheckInterval = in.positiveLong("relay.health.s3-check-interval", 30_000);
        validate();
    }

    /** Reads the settings through {@code lookup} (a Camel property resolver) and the process environment. */
    public static RelaySettings from(Function<String, Optional<String>> lookup) {
        return from(lookup, System::getenv);
    }

    static RelaySettings from(Function<String, Optional<String>> lookup, Function<String, String> env) {
        return new RelaySettings(new Lookup(lookup, env));
    }

    /** The secret access key of an R2 API token: the SHA-256 of the token value, lowercase hex. */
    public static String secretFromApiToken(String tokenValue) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest(tokenValue.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    private static Optional<URI> resolveEndpoint(Lookup in) {
        Optional<String> explicit = in.get("r2.endpoint");
        if (explicit.isPresent()) {
            in.endpointSource = "r2.endpoint";
            return Optional.of(parseEndpoint("r2.endpoint (R2_ENDPOINT)", explicit.get()));
        }
        Optional<String> account = in.get("r2.account-id");
        if (account.isPresent()) {
            String id = account.get().trim();
            if (!id.matches("[0-9a-fA-F]{32}")) {
                throw new SettingsException("r2.account-id (R2_ACCOUNT_ID) must be the 32-character"
                        + " hexadecimal account id shown in the Cloudflare dashboard, got '" + id + "'");
            }
            String jurisdiction = in.get("r2.jurisdiction").map(j -> j.trim().toLowerCase(Locale.ROOT))
                    .orElse("");
            if (!jurisdiction.isEmpty() && !jurisdiction.matches("eu|fedramp|us")) {
                throw new SettingsException("r2.jurisdiction (R2_JURISDICTION) must be empty, eu, fedramp"
                        + " or us, got '" + jurisdiction + "'");
            }
            String host = id + (jurisdiction.isEmpty() ? "" : "." + jurisdiction) + ".r2.cloudflarestorage.com";
            in.endpointSource = "r2.account-id";
            return Optional.of(URI.create("https://" + host));
        }
        Optional<String> aws = in.env("AWS_ENDPOINT_URL");
        if (aws.isPresent()) {
            in.endpointSource = "AWS_ENDPOINT_URL";
            return Optional.of(parseEndpoint("AWS_ENDPOINT_URL", aws.get()));
        }
        in.endpointSource = "embedded";
        return Optional.empty();
    }

    private static URI parseEndpoint(String name, String value) {
        try {
            URI uri = new URI(value.trim());
            String scheme = uri.getScheme();
            if (scheme == null || !(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
                throw new SettingsException(name + " must be an http:// or https:// URL with a host, got '"
                        + withoutUserInfo(value) + "'");
            }
            if (uri.getUserInfo() != null) {
                throw new SettingsException(name + " must not carry credentials; set r2.access-key and"
                        + " r2.secret-key instead");
            }
            return uri;
        } catch (URISyntaxException e) {
            throw new SettingsException(name + " is not a valid URL: '" + withoutUserInfo(value) + "' ("
                    + e.getReason() + ")");
        }
    }

    /** The value as it may be echoed: anything up to an '@' may be credentials (key:secret@host). */
    private static String withoutUserInfo(String value) {
        return value.replaceFirst("^([A-Za-z][A-Za-z0-9+.-]*://)?.*@", "$1***@");
    }

    private void validate() {
        if (endpoint.isPresent()) {
            if (accessKey == null || accessKey.isBlank()) {
                throw new SettingsException("No access key: set r2.access-key (R2_ACCESS_KEY) or"
                        + " AWS_ACCESS_KEY_ID, the R2 API token's id");
            }
            if (secretKey == null || secretKey.isBlank()) {
                throw new SettingsException("No secret: set r2.api-token (R2_API_TOKEN), r2.secret-key"
                        + " (R2_SECRET_KEY) or AWS_SECRET_ACCESS_KEY");
            }
            if (bucket == null || bucket.isBlank()) {
                throw new SettingsException("No bucket: set r2.bucket (R2_BUCKET)");
            }
        }
        if (bucket != null && !bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
            throw new SettingsException("r2.bucket (R2_BUCKET) '" + bucket + "' is not a valid bucket name:"
                    + " 3 to 63 lowercase letters, digits, dots and hyphens");
        }
        if (StateStores.isJdbcUrl(state)) {
            String problem = StateStores.problem(state);
            if (problem != null) {
                throw new SettingsException("relay.state (RELAY_STATE): " + problem);
            }
        } else if (stateUsername != null || statePassword != null) {
            throw new SettingsException("relay.state.username and relay.state.password apply to a PostgreSQL"
                    + " store only; relay.state (RELAY_STATE) names the folder " + state);
        }
        if (claimLease.toMillis() < 1000) {
            throw new SettingsException("relay.claim-lease (RELAY_CLAIM_LEASE) must be at least 1000 ms, got "
                    + claimLease.toMillis());
        }
        if (!instanceName.matches("[A-Za-z0-9._-]{1,100}")) {
            throw new SettingsException("relay.instance-name (RELAY_INSTANCE_NAME) must be 1 to 100 letters,"
                    + " digits, '.', '_' or '-', got '" + instanceName + "'");
        }
        if (httpServerPort > 65535) {
            throw new SettingsException("relay.http-server.port (RELAY_HTTP_SERVER_PORT) must be a TCP port,"
                    + " 0 to 65535, got " + httpServerPort);
        }
        if (httpTriggerEnabled && !httpServerEnabled) {
            throw new SettingsException("relay.trigger.http.enabled (RELAY_TRIGGER_HTTP_ENABLED) needs the HTTP"
                    + " server: set relay.http-server.enabled=true (RELAY_HTTP_SERVER_ENABLED) as well");
        }
        if (afterDelivery == AfterDelivery.MOVE) {
            boolean sameBucket = moveBucket == null || moveBucket.equals(bucket);
            if (sameBucket && movePrefix.isEmpty()) {
                throw new SettingsException("relay.after-delivery=move needs relay.move-bucket"
                        + " (RELAY_MOVE_BUCKET) or relay.move-prefix (RELAY_MOVE_PREFIX)");
            }
            if (sameBucket && movePrefix.startsWith(prefix)) {
                throw new SettingsException("relay.move-prefix '" + movePrefix + "' lies under r2.prefix '"
                        + prefix + "' in the same bucket: moved objects would be delivered again");
            }
        }
    }

    public Optional<URI> endpoint() {
        return endpoint;
    }

    /** Which setting gave the endpoint: r2.endpoint, r2.account-id, AWS_ENDPOINT_URL or embedded. */
    public String endpointSource() {
        return endpointSource;
    }

    public boolean embedded() {
        return endpoint.isEmpty();
    }

    public String region() {
        return region;
    }

    public String accessKey() {
        return accessKey;
    }

    public String secretKey() {
        return secretKey;
    }

    public String sessionToken() {
        return sessionToken;
    }

    public String bucket() {
        return bucket;
    }

    public String prefix() {
        return prefix;
    }

    public boolean pathStyle() {
        return pathStyle;
    }

    public Path inbox() {
        return inbox;
    }

    /** relay.state: the embedded store's folder, or a PostgreSQL JDBC URL. */
    public String state() {
        return state;
    }

    /** Whether relay.state names a store several instances share. */
    public boolean sharedState() {
        return StateStores.isJdbcUrl(state);
    }

    public String stateUsername() {
        return stateUsername;
    }

    public String statePassword() {
        return statePassword;
    }

    /**
     * The folder for what stays on this machine (the embedded broker's journal, dead-letter files,
     * the stand-in's objects): relay.state when it is a folder, else relay.local-state.
     */
    public Path localState() {
        return localState;
    }

    /** What this instance is called in its claims (a unique suffix is added per run). */
    public String instanceName() {
        return instanceName;
    }

    /** How long a claim lasts unless renewed: another instance takes a dead one's claims over after it. */
    public Duration claimLease() {
        return claimLease;
    }

    /** {@link #localState()} from the two settings, for commands that read no other setting. */
    public static Path localState(String state, Optional<String> localState) {
        String folder = StateStores.isJdbcUrl(state) ? localState.orElse("data/") : state;
        return Path.of(folder).toAbsolutePath().normalize();
    }

    private static String hostName() {
        String name = System.getenv("HOSTNAME");
        if (name == null || name.isBlank()) {
            try {
                name = java.net.InetAddress.getLocalHost().getHostName();
            } catch (java.io.IOException e) {
                name = "r2-relay";
            }
        }
        name = name.replaceAll("[^A-Za-z0-9._-]", "-");
        return name.isEmpty() ? "r2-relay" : name.substring(0, Math.min(60, name.length()));
    }

    public long pollInterval() {
        return pollInterval;
    }

    public int concurrency() {
        return concurrency;
    }

    public int maxConnections() {
        return maxConnections;
    }

    public Duration connectTimeout() {
        return connectTimeout;
    }

    public Duration readTimeout() {
        return readTimeout;
    }

    public int maxAttempts() {
        return maxAttempts;
    }

    public AfterDelivery afterDelivery() {
        return afterDelivery;
    }

    public String moveBucket() {
        return moveBucket == null ? bucket : moveBucket;
    }

    public String movePrefix() {
        return movePrefix;
    }

    public int embeddedPort() {
        return embeddedPort;
    }

    public Path samples() {
        return samples;
    }

    /** Whether the application stops once a poll finds nothing left to deliver (run --once). */
    public boolean exitWhenIdle() {
        return exitWhenIdle;
    }

    /** relay.poll.enabled: the poll routes start (the default), or only triggers deliver. */
    public boolean pollEnabled() {
        return pollEnabled;
    }

    /** Objects above this size are fetched as parallel byte ranges. */
    public long multipartThreshold() {
        return multipartThreshold;
    }

    public long partSize() {
        return partSize;
    }

    public int partConcurrency() {
        return partConcurrency;
    }

    /** Whether polls list from the last settled key (for keys that only grow). */
    public boolean incremental() {
        return incremental;
    }

    /** Milliseconds between INFO summaries of polling activity. */
    public long summaryInterval() {
        return summaryInterval;
    }

    /** Whether a delete event removes the delivered file (and its record). */
    public boolean triggerDeleteFiles() {
        return triggerDeleteFiles;
    }

    /** The poller's target, lowercase: deliveries go to direct:deliver-<target>. */
    public String target() {
        return target;
    }

    /** The triggers' target, lowercase: deliveries go to direct:deliver-<trigger target>. */
    public String triggerTarget() {
        return triggerTarget;
    }

    /** Whether r2-relay runs its HTTP server (health, metrics, and the HTTP trigger when enabled). */
    public boolean httpServerEnabled() {
        return httpServerEnabled;
    }

    public String httpServerHost() {
        return httpServerHost;
    }

    public int httpServerPort() {
        return httpServerPort;
    }

    /** Whether POST /fetch is served (needs the HTTP server). */
    public boolean httpTriggerEnabled() {
        return httpTriggerEnabled;
    }

    /** Milliseconds a readiness answer about the S3 endpoint is reused before it is checked again. */
    public long endpointCheckInterval() {
        return endpointCheckInterval;
    }

    /** A copy pointed at another endpoint with other credentials (used for the embedded stand-in). */
    public RelaySettings withEndpoint(URI newEndpoint, String newAccessKey, String newSecretKey) {
        return new RelaySettings(this, newEndpoint, newAccessKey, newSecretKey);
    }

    private RelaySettings(RelaySettings base, URI newEndpoint, String newAccessKey, String newSecretKey) {
        this.endpoint = Optional.of(newEndpoint);
        this.endpointSource = base.endpointSource;
        this.region = base.region;
        this.accessKey = newAccessKey;
        this.secretKey = newSecretKey;
        this.sessionToken = null;
        this.bucket = base.bucket;
        this.prefix = base.prefix;
        this.pathStyle = true;
        this.inbox = base.inbox;
        this.state = base.state;
        this.stateUsername = base.stateUsername;
        this.statePassword = base.statePassword;
        this.localState = base.localState;
        this.instanceName = base.instanceName;
        this.claimLease = base.claimLease;
        this.pollInterval = base.pollInterval;
        this.concurrency = base.concurrency;
        this.maxConnections = base.maxConnections;
        this.connectTimeout = base.connectTimeout;
        this.readTimeout = base.readTimeout;
        this.maxAttempts = base.maxAttempts;
        this.afterDelivery = base.afterDelivery;
        this.moveBucket = base.moveBucket;
        this.movePrefix = base.movePrefix;
        this.embeddedPort = base.embeddedPort;
        this.samples = base.samples;
        this.triggerDeleteFiles = base.triggerDeleteFiles;
        this.summaryInterval = base.summaryInterval;
        this.incremental = base.incremental;
        this.exitWhenIdle = base.exitWhenIdle;
        this.pollEnabled = base.pollEnabled;
        this.multipartThreshold = base.multipartThreshold;
        this.partSize = base.partSize;
        this.partConcurrency = base.partConcurrency;
        this.target = base.target;
        this.triggerTarget = base.triggerTarget;
        this.httpServerEnabled = base.httpServerEnabled;
        this.httpServerHost = base.httpServerHost;
        this.httpServerPort = base.httpServerPort;
        this.httpTriggerEnabled = base.httpTriggerEnabled;
        this.endpointCheckInterval = base.endpointCheckInterval;
    }

    /** Names the endpoint host, bucket and prefix; never a credential. */
    @Override
    public String toString() {
        return "endpoint=" + endpoint.map(URI::toString).orElse("embedded") + " bucket=" + bucket
                + (prefix.isEmpty() ? "" : " prefix=" + prefix) + " region=" + region;
    }

    /** Property look-ups with Camel's key as the name users see in errors. */
    private static final class Lookup {
        private final Function<String, Optional<String>> properties;
        private final Function<String, String> environment;
        private String endpointSource;

        Lookup(Function<String, Optional<String>> properties, Function<String, String> environment) {
            this.properties = properties;
            this.environment = environment;
        }

        Optional<String> get(String key) {
            return properties.apply(key).map(String::trim).filter(v -> !v.isEmpty());
        }

        Optional<String> env(String name) {
            return Optional.ofNullable(environment.apply(name)).map(String::trim).filter(v -> !v.isEmpty());
        }

        Optional<String> first(String key, String envName) {
            return get(key).or(() -> env(envName));
        }

        boolean bool(String key, boolean fallback) {
            Optional<String> value = get(key);
            if (value.isEmpty()) {
                return fallback;
            }
            return switch (value.get().toLowerCase(Locale.ROOT)) {
                case "true" -> true;
                case "false" -> false;
                default -> throw invalid(key, value.get(), "true or false");
            };
        }

        long positiveLong(String key, long fallback) {
            return longAtLeast(key, fallback, 1, "a whole number above 0");
        }

        long nonNegativeLong(String key, long fallback) {
            return longAtLeast(key, fallback, 0, "a whole number, 0 or above");
        }

        private long longAtLeast(String key, long fallback, long min, String expected) {
            Optional<String> value = get(key);
            if (value.isEmpty()) {
                return fallback;
            }
            long parsed;
            try {
                parsed = Long.parseLong(value.get());
            } catch (NumberFormatException e) {
                throw invalid(key, value.get(), expected);
            }
            if (parsed < min) {
                throw invalid(key, value.get(), expected);
            }
            return parsed;
        }

        /**
         * A target's name, lowercase (HTTP and http are one target), file by default. Whether a
         * route delivers to it is known only once the routes are loaded ({@link TargetRoutes}).
         */
        String target(String key) {
            Optional<String> value = get(key);
            if (value.isEmpty()) {
                return "file";
            }
            String name = value.get().toLowerCase(Locale.ROOT);
            if (!name.matches("[a-z0-9][a-z0-9_-]{0,99}")) {
                throw invalid(key, value.get(), "the name of a target route (direct:deliver-<name>): file, jms,"
                        + " http, or the name of a route you added; letters, digits, '-' and '_'");
            }
            return name;
        }

        <E extends Enum<E>> E enumValue(String key, E fallback) {
            Optional<String> value = get(key);
            if (value.isEmpty()) {
                return fallback;
            }
            try {
                return Enum.valueOf(fallback.getDeclaringClass(), value.get().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                StringBuilder allowed = new StringBuilder();
                for (E constant : fallback.getDeclaringClass().getEnumConstants()) {
                    allowed.append(allowed.length() == 0 ? "" : ", ").append(constant.name().toLowerCase(Locale.ROOT));
                }
                throw invalid(key, value.get(), "one of " + allowed);
            }
        }

        private static SettingsException invalid(String key, String value, String expected) {
            return new SettingsException(key + " (" + envName(key) + ") must be " + expected + ", got '"
                    + value + "'");
        }
    }

    /** The environment variable Camel maps onto a property: r2.api-token is R2_API_TOKEN. */
    public static String envName(String key) {
        return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }
}
