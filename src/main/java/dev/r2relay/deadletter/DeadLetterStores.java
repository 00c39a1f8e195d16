package dev.r2relay.deadletter;

import dev.r2relay.config.SettingsException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns {@code relay.dead-letter} into a store: empty means {@code dead-letters} in the local state folder;
 * a path, or {@code file:PATH}, a folder; {@code jms:queue:NAME} (or {@code jms:NAME}) a queue of
 * the relay's JMS broker, the embedded one or {@code relay.jms.url}.
 */
public final class DeadLetterStores {

    /** The setting, as users write it in application.properties. */
    public static final String KEY = "relay.dead-letter";
    /** The registry name of the queue store, bound by JmsConfiguration when relay.dead-letter is a queue. */
    public static final String QUEUE_STORE = "relayDeadLetterQueue";
    private static final Pattern SCHEME = Pattern.compile("^([a-zA-Z][a-zA-Z0-9+.-]+):(.*)$");
    private static final Pattern QUEUE_NAME = Pattern.compile("[A-Za-z0-9._-]{1,200}");

    private DeadLetterStores() {
    }

    /**
     * Opens the folder store {@code spec} names; {@code state} is the local state folder (relay.state,
     * or relay.local-state when that is a database), for the default folder.
     * A queue store needs the relay's JMS connection: JmsConfiguration builds it
     * ({@link JmsDeadLetterStore}), as {@link #QUEUE_STORE}.
     */
    public static DeadLetterStore open(String spec, String state) {
        if (queueName(spec).isPresent()) {
            throw new IllegalStateException(KEY + "=" + spec.trim() + " is a queue: it needs the JMS connection");
        }
        String value = spec == null ? "" : spec.trim();
        if (value.isEmpty()) {
            return new FolderDeadLetterStore(Path.of(state).resolve("dead-letters"));
        }
        Matcher m = SCHEME.matcher(value);
        if (m.matches() && m.group(1).equalsIgnoreCase("file")) {
            return new FolderDeadLetterStore(Path.of(m.group(2)));
        }
        return new FolderDeadLetterStore(Path.of(value));
    }

    /**
     * The queue {@code spec} names when it is {@code jms:queue:NAME} or {@code jms:NAME}, empty for a
     * folder; fails, naming the setting, on another scheme or a bad queue name.
     */
    public static Optional<String> queueName(String spec) {
        String value = spec == null ? "" : spec.trim();
        Matcher m = SCHEME.matcher(value);
        if (!m.matches()) {
            return Optional.empty();
        }
        String scheme = m.group(1).toLowerCase(Locale.ROOT);
        if (scheme.equals("file")) {
            return Optional.empty();
        }
        if (!scheme.equals("jms")) {
            throw new SettingsException(KEY + " (RELAY_DEAD_LETTER) must be a folder (a path or file:PATH) or a"
                    + " JMS queue (jms:queue:NAME); '" + scheme + ":' is not supported");
        }
        String name = m.group(2).startsWith("queue:") ? m.group(2).substring("queue:".length()) : m.group(2);
        if (!QUEUE_NAME.matcher(name).matches()) {
            throw new SettingsException(KEY + " (RELAY_DEAD_LETTER) names the queue '" + name + "': a queue name is"
                    + " 1 to 200 letters, digits, dots, underscores or hyphens (jms:queue:r2.dead-letters)");
        }
        return Optional.of(name);
    }
}
