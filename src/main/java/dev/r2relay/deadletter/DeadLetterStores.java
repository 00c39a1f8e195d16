package dev.r2relay.deadletter;

import dev.r2relay.config.SettingsException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns {@code relay.dead-letter} into a store: empty means {@code <relay.state>/dead-letters};
 * a path, or {@code file:PATH}, a folder. Other schemes are the place for new variants (a
 * {@code jms:} queue): add a case here returning a {@link DeadLetterStore}.
 */
public final class DeadLetterStores {

    /** The setting, as users write it in application.properties. */
    public static final String KEY = "relay.dead-letter";
    private static final Pattern SCHEME = Pattern.compile("^([a-zA-Z][a-zA-Z0-9+.-]+):(.*)$");

    private DeadLetterStores() {
    }

    /** Opens the store {@code spec} names; {@code state} is relay.state, for the default folder. */
    public static DeadLetterStore open(String spec, String state) {
        String value = spec == null ? "" : spec.trim();
        if (value.isEmpty()) {
            return new FolderDeadLetterStore(Path.of(state).resolve("dead-letters"));
        }
        Matcher m = SCHEME.matcher(value);
        if (m.matches()) {
            String scheme = m.group(1).toLowerCase(Locale.ROOT);
            if (scheme.equals("file")) {
                return new FolderDeadLetterStore(Path.of(m.group(2)));
            }
            throw new SettingsException(KEY + " (RELAY_DEAD_LETTER) must be a folder (a path or file:PATH); '"
                    + scheme + ":' dead letters are not supported yet");
        }
        return new FolderDeadLetterStore(Path.of(value));
    }
}
