package dev.r2relay.cfqueue;

import static dev.r2relay.config.RelaySettings.envName;

import dev.r2relay.config.SettingsException;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;

/**
 * The {@code relay.trigger.cloudflare-queue.*} settings of the Cloudflare Queues pull consumer.
 * The API token is held here and nowhere else; {@link #toString()} never shows it.
 */
public final class CloudflareQueueSettings {

    public static final String PREFIX = "relay.trigger.cloudflare-queue.";
    public static final String ENABLED = PREFIX + "enabled";
    public static final String ACCOUNT_ID = PREFIX + "account-id";
    public static final String QUEUE_ID = PREFIX + "queue-id";
    public static final String API_TOKEN = PREFIX + "api-token";
    public static final String API_URL = PREFIX + "api-url";
    public static final String BATCH_SIZE = PREFIX + "batch-size";
    public static final String VISIBILITY_TIMEOUT = PREFIX + "visibility-timeout";
    public static final String RETRY_DELAY = PREFIX + "retry-delay";
    public static final String POLL_INTERVAL = PREFIX + "poll-interval";

    public static final String DEFAULT_API_URL = "https://api.cloudflare.com";
    /** Cloudflare's limits: at most 100 messages per pull, leases and retry delays of at most 12 hours. */
    static final int MAX_BATCH_SIZE = 100;
    static final long MAX_VISIBILITY_TIMEOUT_MS = 12L * 3600 * 1000;
    static final long MAX_RETRY_DELAY_SECONDS = 12L * 3600;

    private final boolean enabled;
    private final String accountId;
    private final String queueId;
    private final String apiToken;
    private final URI apiUrl;
    private final int batchSize;
    private final long visibilityTimeoutMs;
    private final long retryDelaySeconds;
    private final long pollIntervalMs;

    private CloudflareQueueSettings(Function<String, Optional<String>> lookup) {
        Function<String, Optional<String>> in = key -> lookup.apply(key).map(String::trim).filter(v -> !v.isEmpty());
        this.enabled = in.apply(ENABLED).map(v -> bool(ENABLED, v)).orElse(false);
        // the queue belongs to the account that holds the bucket, unless said otherwise
        this.accountId = in.apply(ACCOUNT_ID).or(() -> in.apply("r2.account-id")).orElse(null);
        this.queueId = in.apply(QUEUE_ID).orElse(null);
        this.apiToken = in.apply(API_TOKEN).orElse(null);
        this.apiUrl = apiUrl(in.apply(API_URL).orElse(DEFAULT_API_URL));
        this.batchSize = (int) number(BATCH_SIZE, in.apply(BATCH_SIZE), 10, 1, MAX_BATCH_SIZE);
        this.visibilityTimeoutMs = number(VISIBILITY_TIMEOUT, in.apply(VISIBILITY_TIMEOUT), 300_000, 1000,
                MAX_VISIBILITY_TIMEOUT_MS);
        this.retryDelaySeconds = number(RETRY_DELAY, in.apply(RETRY_DELAY), 30, 0, MAX_RETRY_DELAY_SECONDS);
        this.pollIntervalMs = number(POLL_INTERVAL, in.apply(POLL_INTERVAL), 5000, 100, Long.MAX_VALUE);
        if (enabled) {
            validate();
        }
    }

    /** Reads the settings through {@code lookup} (Camel's property resolver). */
    public static CloudflareQueueSettings from(Function<String, Optional<String>> lookup) {
        return new CloudflareQueueSettings(lookup);
    }

    private void validate() {
        if (accountId == null) {
            throw missing(ACCOUNT_ID, "the Cloudflare account id (or set r2.account-id)");
        }
        if (!accountId.matches("[0-9a-fA-F]{32}")) {
            throw new SettingsException(ACCOUNT_ID + " (" + envName(ACCOUNT_ID) + ") must be the 32-character"
                    + " hexadecimal account id shown in the Cloudflare dashboard, got '" + accountId + "'");
        }
        if (queueId == null) {
            throw missing(QUEUE_ID, "the queue's id (npx wrangler queues info QUEUE-NAME shows it)");
        }
        if (!queueId.matches("[0-9a-fA-F]{32}")) {
            throw new SettingsException(QUEUE_ID + " (" + envName(QUEUE_ID) + ") must be the queue's id, 32"
                    + " hexadecimal characters (npx wrangler queues info QUEUE-NAME shows it), not its name; got '"
                    + queueId + "'");
        }
        if (apiToken == null) {
            throw missing(API_TOKEN, "a Cloudflare API token with Queues Read and Queues Write (Edit)");
        }
    }

    private static SettingsException missing(String key, String what) {
        return new SettingsException(ENABLED + "=true needs " + key + " (" + envName(key) + "): " + what);
    }

    private static URI apiUrl(String value) {
        String key = API_URL + " (" + envName(API_URL) + ")";
        URI uri;
        try {
            uri = new URI(value.endsWith("/") ? value.substring(0, value.length() - 1) : value);
        } catch (URISyntaxException e) {
            throw new SettingsException(key + " is not a valid URL: '" + value + "' (" + e.getReason() + ")");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
            throw new SettingsException(key + " must be an http:// or https:// URL with a host, got '" + value + "'");
        }
        if (uri.getUserInfo() != null || uri.getQuery() != null) {
            throw new SettingsException(key + " must be a plain base URL such as " + DEFAULT_API_URL
                    + ", without credentials or a query");
        }
        return uri;
    }

    private static long number(String key, Optional<String> value, long fallback, long min, long max) {
        if (value.isEmpty()) {
            return fallback;
        }
        long parsed;
        try {
            parsed = Long.parseLong(value.get());
        } catch (NumberFormatException e) {
            throw invalid(key, value.get(), range(min, max));
        }
        if (parsed < min || parsed > max) {
            throw invalid(key, value.get(), range(min, max));
        }
        return parsed;
    }

    private static String range(long min, long max) {
        return max == Long.MAX_VALUE ? "a whole number, " + min + " or more" : "a whole number from " + min + " to "
                + max;
    }

    private static boolean bool(String key, String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw invalid(key, value, "true or false");
        };
    }

    private static SettingsException invalid(String key, String value, String expected) {
        return new SettingsException(key + " (" + envName(key) + ") must be " + expected + ", got '" + value + "'");
    }

    public boolean enabled() {
        return enabled;
    }

    public String accountId() {
        return accountId;
    }

    public String queueId() {
        return queueId;
    }

    /** The secret: for the Authorization header only. */
    String apiToken() {
        return apiToken;
    }

    public URI apiUrl() {
        return apiUrl;
    }

    /** {@code {api}/client/v4/accounts/{account}/queues/{queue}/messages/} */
    URI messagesUrl(String action) {
        return URI.create(apiUrl + "/client/v4/accounts/" + accountId + "/queues/" + queueId + "/messages/" + action);
    }

    public int batchSize() {
        return batchSize;
    }

    public long visibilityTimeoutMs() {
        return visibilityTimeoutMs;
    }

    public long retryDelaySeconds() {
        return retryDelaySeconds;
    }

    public long pollIntervalMs() {
        return pollIntervalMs;
    }

    /** The queue and how it is pulled; never the token. */
    @Override
    public String toString() {
        return "queue " + queueId + " of account " + accountId + " at " + apiUrl + " (batches of " + batchSize
                + ", lease " + visibilityTimeoutMs + " ms, retry after " + retryDelaySeconds + " s, pull every "
                + pollIntervalMs + " ms when empty)";
    }
}
