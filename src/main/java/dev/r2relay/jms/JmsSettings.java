package dev.r2relay.jms;

import static dev.r2relay.config.RelaySettings.envName;

import dev.r2relay.config.SettingsException;
import dev.r2relay.deadletter.DeadLetterStores;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The {@code relay.jms.*} settings. JMS is on when {@code relay.target=jms}, {@code relay.jms.enabled=true},
 * the queue trigger is on, triggers deliver to JMS or dead letters go to a queue
 * ({@code relay.dead-letter=jms:queue:NAME}); with no {@code relay.jms.url} the embedded broker serves it.
 * {@link #toString()} never shows the password.
 */
public final class JmsSettings {

    public static final String DEFAULT_QUEUE = "r2.objects";
    public static final long DEFAULT_MAX_INLINE_SIZE = 1024 * 1024;
    /** Bodies are held in memory, relay.concurrency at a time: larger objects travel as links. */
    public static final long MAX_INLINE_SIZE_LIMIT = 100L * 1024 * 1024;
    /** S3 (and R2) presigned URLs live at most seven days. */
    public static final Duration MAX_LINK_EXPIRY = Duration.ofDays(7);
    public static final Duration DEFAULT_LINK_EXPIRY = Duration.ofHours(1);

    private final boolean enabled;
    private final String url;
    private final String username;
    private final String password;
    private final int port;
    private final String queue;
    private final long maxInlineSize;
    private final Duration linkExpiry;
    private final Optional<String> deadLetterQueue;

    private JmsSettings(Function<String, Optional<String>> lookup, String target) {
        Function<String, Optional<String>> in = key -> lookup.apply(key).map(String::trim).filter(v -> !v.isEmpty());
        boolean targetIsJms = "jms".equals(target);
        boolean queueTrigger = in.apply("relay.trigger.queue.enabled").map(v -> bool("relay.trigger.queue.enabled", v))
                .orElse(false);
        boolean triggerTargetIsJms = in.apply("relay.trigger.target")
                .map(t -> t.toLowerCase(Locale.ROOT)).map("jms"::equals).orElse(false);
        this.deadLetterQueue = DeadLetterStores.queueName(lookup.apply(DeadLetterStores.KEY).orElse(""));
        boolean needed = targetIsJms || queueTrigger || triggerTargetIsJms || deadLetterQueue.isPresent();
        Optional<String> explicit = in.apply("relay.jms.enabled");
        if (explicit.isPresent()) {
            this.enabled = bool("relay.jms.enabled", explicit.get());
            if (!enabled && needed) {
                throw new SettingsException((targetIsJms ? "relay.target=jms" : queueTrigger
                        ? "relay.trigger.queue.enabled=true" : triggerTargetIsJms ? "relay.trigger.target=jms"
                        : DeadLetterStores.KEY + "=jms:queue:" + deadLetterQueue.get())
                        + " needs JMS: remove relay.jms.enabled=false (RELAY_JMS_ENABLED), or change that setting");
            }
        } else {
            this.enabled = needed;
        }
        this.url = in.apply("relay.jms.url").orElse(null);
        this.username = in.apply("relay.jms.username").orElse(null);
        // a password may legitimately start or end with spaces: only an empty one counts as unset
        this.password = lookup.apply("relay.jms.password").filter(v -> !v.isEmpty()).orElse(null);
        this.port = (int) number("relay.jms.port", in.apply("relay.jms.port"), 61616, 0, 65535);
        this.queue = in.apply("relay.jms.queue").orElse(DEFAULT_QUEUE);
        this.maxInlineSize = number("relay.jms.max-inline-size", in.apply("relay.jms.max-inline-size"),
                DEFAULT_MAX_INLINE_SIZE, 0, MAX_INLINE_SIZE_LIMIT);
        this.linkExpiry = in.apply("relay.jms.link-expiry").map(JmsSettings::linkExpiry).orElse(DEFAULT_LINK_EXPIRY);
        validate();
        deadLetterQueue.ifPresent(name -> checkOwnQueue(name, Map.of("relay.jms.queue", queue,
                "relay.trigger.queue", in.apply("relay.trigger.queue").orElse("r2.fetch-requests"),
                "relay.trigger.queue.dead-letter", in.apply("relay.trigger.queue.dead-letter")
                        .orElse(EmbeddedBroker.DEAD_LETTER_QUEUE))));
    }

    /** Reads the settings through {@code lookup} (Camel's property resolver); {@code target} is relay.target. */
    public static JmsSettings from(Function<String, Optional<String>> lookup, String target) {
        return new JmsSettings(lookup, target == null ? "file" : target.trim().toLowerCase(Locale.ROOT));
    }

    private void validate() {
        if (!queue.matches("[A-Za-z0-9._-]{1,200}")) {
            throw new SettingsException("relay.jms.queue (RELAY_JMS_QUEUE) must be 1 to 200 letters, digits, dots,"
                    + " underscores or hyphens, got '" + queue + "'");
        }
        if (url == null) {
            if (username != null || password != null) {
                throw new SettingsException("relay.jms.username and relay.jms.password (RELAY_JMS_USERNAME,"
                        + " RELAY_JMS_PASSWORD) are for an external broker: set relay.jms.url (RELAY_JMS_URL) too;"
                        + " the embedded broker has no users");
            }
            return;
        }
        String lower = url.toLowerCase(Locale.ROOT);
        if (!(lower.startsWith("tcp://") || lower.startsWith("(tcp://"))) {
            throw new SettingsException("relay.jms.url (RELAY_JMS_URL) must be an Artemis core URL such as"
                    + " tcp://broker.example:61616 (add ?sslEnabled=true for TLS; (tcp://a:61616,tcp://b:61616)"
                    + " for several), got '"
                    + safeUrl(url) + "'");
        }
        // the URL is printed at start-up, so no secret may live in it
        if (lower.matches("(?s).*[?&;](user|username|[a-z]*password)=.*")) {
            throw new SettingsException("relay.jms.url (RELAY_JMS_URL) must not carry credentials (it is shown"
                    + " at start-up): set relay.jms.username and relay.jms.password; for TLS trust stores use the"
                    + " javax.net.ssl.trustStore system properties");
        }
        if (password != null && username == null) {
            throw new SettingsException("relay.jms.password (RELAY_JMS_PASSWORD) is set but relay.jms.username"
                    + " (RELAY_JMS_USERNAME) is not");
        }
    }

    /** Dead letters would be consumed as objects or triggers, or mixed with rolled-back messages, in another queue. */
    private static void checkOwnQueue(String name, Map<String, String> others) {
        others.forEach((key, other) -> {
            if (name.equals(other)) {
                throw new SettingsException(DeadLetterStores.KEY + " (RELAY_DEAD_LETTER) names the queue '" + name
                        + "', which is also " + key + ": dead letters need a queue of their own");
            }
        });
    }

    /** Seconds ({@code 3600}) or an ISO-8601 duration ({@code PT1H}, {@code P7D}), from 1 second to 7 days. */
    static Duration linkExpiry(String value) {
        String key = "relay.jms.link-expiry";
        Duration d;
        try {
            d = value.matches("\\d+") ? Duration.ofSeconds(Long.parseLong(value))
                    : Duration.parse(value.toUpperCase(Locale.ROOT));
        } catch (DateTimeParseException | NumberFormatException | ArithmeticException e) {
            throw invalid(key, value, "a number of seconds or an ISO-8601 duration such as PT1H");
        }
        if (d.compareTo(Duration.ofSeconds(1)) < 0 || d.compareTo(MAX_LINK_EXPIRY) > 0) {
            throw invalid(key, value, "between 1 second and 7 days (604800, P7D), the limits of presigned URLs");
        }
        return d;
    }

    private static long number(String key, Optional<String> value, long fallback, long min, long max) {
        if (value.isEmpty()) {
            return fallback;
        }
        long parsed;
        try {
            parsed = Long.parseLong(value.get());
        } catch (NumberFormatException e) {
            throw invalid(key, value.get(), "a whole number from " + min + " to " + max);
        }
        if (parsed < min || parsed > max) {
            throw invalid(key, value.get(), "a whole number from " + min + " to " + max);
        }
        return parsed;
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

    /** A broker URL fit for logs: the query (which could hold options with secrets) is dropped. */
    static String safeUrl(String url) {
        int q = url.indexOf('?');
        return q < 0 ? url : url.substring(0, q) + "?...";
    }

    public boolean enabled() {
        return enabled;
    }

    /** True when {@code relay.jms.url} names a broker; false for the embedded one. */
    public boolean external() {
        return url != null;
    }

    public String url() {
        return url;
    }

    public String username() {
        return username;
    }

    public String password() {
        return password;
    }

    public int port() {
        return port;
    }

    public String queue() {
        return queue;
    }

    public long maxInlineSize() {
        return maxInlineSize;
    }

    public Duration linkExpiry() {
        return linkExpiry;
    }

    /** The queue relay.dead-letter names ({@code jms:queue:NAME}), or empty when dead letters go to a folder. */
    public Optional<String> deadLetterQueue() {
        return deadLetterQueue;
    }

    /** Names the broker and the user, never the password nor the URL's options. */
    @Override
    public String toString() {
        return url == null ? "embedded broker on 127.0.0.1:" + port
                : "broker " + safeUrl(url) + (username == null ? "" : " as " + username);
    }
}
