package dev.r2relay.http;

import dev.r2relay.config.RelaySettings;
import dev.r2relay.config.SettingsException;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The {@code relay.http.*} settings of the HTTP target, read once at start-up. Header values are
 * held here and sent, never logged: {@link #toString()} names the headers only.
 */
public final class HttpSettings {

    /** Where the object's key goes in {@code relay.http.url}: each segment URL-encoded, '/' kept. */
    public static final String KEY_PLACEHOLDER = "{key}";
    /** Extra request headers: {@code relay.http.headers.<Name>=value}. */
    public static final String HEADERS_PREFIX = "relay.http.headers.";
    /** The same from the environment: {@code RELAY_HTTP_HEADERS_X_API_KEY} sends {@code X-Api-Key}. */
    public static final String HEADERS_ENV_PREFIX = "RELAY_HTTP_HEADERS_";

    /** Headers r2-relay sets itself, or that the HTTP client owns; configuring them is refused. */
    private static final Set<String> RESERVED = Set.of("content-length", "content-type", "content-encoding", "host",
            "connection", "expect", "upgrade", "transfer-encoding", "te", "trailer", "keep-alive",
            "proxy-connection", "date", "via", "warning");
    private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
    private static final Pattern VALUE = Pattern.compile("[\\x20-\\x7e\\t]*");

    /** The request method. */
    public enum Method { POST, PUT }

    private final String url;
    private final Method method;
    private final Map<String, String> headers;
    private final int maxAttempts;
    private final Duration backoff;
    private final Duration maxDelay;
    private final Duration connectTimeout;
    private final Duration timeout;

    private HttpSettings(String url, Method method, Map<String, String> headers, int maxAttempts,
                         Duration backoff, Duration maxDelay, Duration connectTimeout, Duration timeout) {
        this.url = url;
        this.method = method;
        this.headers = Collections.unmodifiableMap(headers);
        this.maxAttempts = maxAttempts;
        this.backoff = backoff;
        this.maxDelay = maxDelay;
        this.connectTimeout = connectTimeout;
        this.timeout = timeout;
    }

    /**
     * Reads the settings. {@code property} resolves one key (placeholders included), {@code
     * headerKeys} lists the {@code relay.http.headers.*} keys configured, {@code env} reads the
     * environment. {@code requiredBy}: the setting that puts the target in use, so that a URL
     * must be set (relay.target=http, relay.trigger.target=http), or null.
     */
    public static HttpSettings from(Function<String, Optional<String>> property, Set<String> headerKeys,
                                    Map<String, String> env, String requiredBy) {
        Optional<String> url = get(property, "relay.http.url");
        if (url.isPresent()) {
            validateUrl(url.get());
        } else if (requiredBy != null) {
            throw new SettingsException(requiredBy + " needs relay.http.url (RELAY_HTTP_URL), for example"
                    + " https://ingest.example.com/objects/" + KEY_PLACEHOLDER);
        }
        String methodName = get(property, "relay.http.method").orElse("POST").toUpperCase(Locale.ROOT);
        Method method;
        try {
            method = Method.valueOf(methodName);
        } catch (IllegalArgumentException e) {
            throw invalid("relay.http.method", methodName, "POST or PUT");
        }
        Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (String key : headerKeys) {
            String name = key.substring(HEADERS_PREFIX.length());
            property.apply(key).ifPresent(v -> headers.put(name, v.trim()));
        }
        env.forEach((name, value) -> {
            if (name.startsWith(HEADERS_ENV_PREFIX) && name.length() > HEADERS_ENV_PREFIX.length()) {
                headers.put(headerNameFromEnv(name.substring(HEADERS_ENV_PREFIX.length())), value.trim());
            }
        });
        headers.forEach(HttpSettings::validateHeader);
        return new HttpSettings(url.orElse(null), method, headers,
                (int) positive(property, "relay.http.max-attempts", 5),
                Duration.ofMillis(positive(property, "relay.http.backoff", 1_000)),
                Duration.ofMillis(positive(property, "relay.http.max-delay", 60_000)),
                Duration.ofMillis(positive(property, "relay.http.connect-timeout", 10_000)),
                Duration.ofMillis(positive(property, "relay.http.timeout", 60_000)));
    }

    /** The keys of {@code properties} that configure headers. */
    public static Set<String> headerKeys(Properties properties) {
        Set<String> keys = new java.util.TreeSet<>();
        for (String name : properties.stringPropertyNames()) {
            if (name.startsWith(HEADERS_PREFIX) && name.length() > HEADERS_PREFIX.length()) {
                keys.add(name);
            }
        }
        return keys;
    }

    /** {@code X_API_KEY} is {@code X-Api-Key}: environment names cannot hold '-'. */
    static String headerNameFromEnv(String envSuffix) {
        StringBuilder b = new StringBuilder();
        for (String word : envSuffix.toLowerCase(Locale.ROOT).split("_", -1)) {
            if (b.length() > 0) {
                b.append('-');
            }
            if (!word.isEmpty()) {
                b.append(Character.toUpperCase(word.charAt(0))).append(word.substring(1));
            }
        }
        return b.toString();
    }

    private static void validateUrl(String url) {
        String sample = url.replace(KEY_PLACEHOLDER, "k");
        int placeholder = url.indexOf(KEY_PLACEHOLDER);
        int query = url.indexOf('?');
        int fragment = url.indexOf('#');
        if (fragment >= 0) {
            throw new SettingsException("relay.http.url (RELAY_HTTP_URL) must not have a #fragment");
        }
        if (placeholder >= 0 && query >= 0 && placeholder > query) {
            throw new SettingsException("relay.http.url (RELAY_HTTP_URL) may hold " + KEY_PLACEHOLDER
                    + " only in its path, before any '?'");
        }
        URI uri;
        try {
            uri = new URI(sample);
        } catch (URISyntaxException e) {
            throw new SettingsException("relay.http.url (RELAY_HTTP_URL) is not a valid URL (" + e.getReason()
                    + "); only " + KEY_PLACEHOLDER + " may stand for the key");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
            throw new SettingsException("relay.http.url (RELAY_HTTP_URL) must be an http:// or https:// URL with"
                    + " a host, got scheme '" + scheme + "'");
        }
        if (uri.getRawUserInfo() != null) {
            throw new SettingsException("relay.http.url (RELAY_HTTP_URL) must not carry credentials; send them"
                    + " as a header: relay.http.headers.Authorization (RELAY_HTTP_HEADERS_AUTHORIZATION)");
        }
    }

    private static void validateHeader(String name, String value) {
        if (!TOKEN.matcher(name).matches()) {
            throw new SettingsException(HEADERS_PREFIX + name + ": '" + name + "' is not a valid header name");
        }
        String lower = name.toLowerCase(Locale.ROOT);
        if (RESERVED.contains(lower) || lower.startsWith("r2relay")) {
            throw new SettingsException(HEADERS_PREFIX + name + ": r2-relay sets " + name + " itself");
        }
        if (!VALUE.matcher(value).matches()) {
            // the value itself is never echoed: it is likely a credential
            throw new SettingsException(HEADERS_PREFIX + name + ": the value must be printable ASCII on one line");
        }
    }

    private static Optional<String> get(Function<String, Optional<String>> property, String key) {
        return property.apply(key).map(String::trim).filter(v -> !v.isEmpty());
    }

    private static long positive(Function<String, Optional<String>> property, String key, long fallback) {
        Optional<String> value = get(property, key);
        if (value.isEmpty()) {
            return fallback;
        }
        try {
            long parsed = Long.parseLong(value.get());
            if (parsed > 0) {
                return parsed;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw invalid(key, value.get(), "a whole number above 0");
    }

    private static SettingsException invalid(String key, String value, String expected) {
        return new SettingsException(key + " (" + RelaySettings.envName(key) + ") must be " + expected + ", got '"
                + value + "'");
    }

    /** The URL template, {@link #KEY_PLACEHOLDER} included, or null when not configured. */
    public String url() {
        return url;
    }

    public Method method() {
        return method;
    }

    /** Extra headers, name to value. The values are secrets as far as logging goes. */
    public Map<String, String> headers() {
        return headers;
    }

    public int maxAttempts() {
        return maxAttempts;
    }

    /** The delay before the second attempt; it doubles with every further one. */
    public Duration backoff() {
        return backoff;
    }

    /** The longest wait between two attempts, Retry-After included. */
    public Duration maxDelay() {
        return maxDelay;
    }

    public Duration connectTimeout() {
        return connectTimeout;
    }

    /** How long a request may make no progress (no body bytes taken, no answer) before it fails. */
    public Duration timeout() {
        return timeout;
    }

    /** Method, URL without its query (which may carry a token), header names; never a header value. */
    @Override
    public String toString() {
        return method + " " + HttpTarget.withoutQuery(url) + " (" + maxAttempts + " attempts"
                + (headers.isEmpty() ? "" : "; headers " + String.join(", ", headers.keySet()) + ", values not logged")
                + ")";
    }
}
