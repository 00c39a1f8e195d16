package dev.r2relay.cli;

import dev.r2relay.config.SettingsException;
import dev.r2relay.deadletter.DeadLetter;
import dev.r2relay.deadletter.DeadLetterStore;
import dev.r2relay.deadletter.DeadLetterStores;
import dev.r2relay.delivery.RejectedKeyException;
import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.spi.PropertiesComponent;

/** {@code dead-letters}: lists the objects a target gave up on, oldest first. Works while the relay runs. */
final class DeadLettersCommand {

    private DeadLettersCommand() {
    }

    static int run(String[] args, Map<String, String> overrides, PrintStream out, PrintStream err) {
        if (args.length > 0) {
            err.println("r2-relay: dead-letters takes no arguments\n");
            err.print(R2RelayMain.USAGE);
            return 2;
        }
        DeadLetterStore store;
        try {
            store = store(overrides);
        } catch (SettingsException e) {
            err.println("r2-relay: " + e.getMessage());
            return 2;
        }
        if (!store.browsable()) {
            err.println("r2-relay: dead letters go to " + store.describe() + "; read them there");
            return 2;
        }
        List<DeadLetter> letters;
        try {
            letters = store.list();
        } catch (IOException e) {
            err.println("r2-relay: cannot read the dead letters in " + store.describe() + ": " + e.getMessage());
            return 1;
        }
        if (letters.isEmpty()) {
            out.println("No dead letters in " + store.describe());
            return 0;
        }
        out.println(letters.size() + " dead letter(s) in " + store.describe()
                + "; deliver them again with: replay [KEY...]");
        out.printf("%-24s  %8s  %-40s  %s%n", "TIME", "ATTEMPTS", "KEY", "REASON");
        for (DeadLetter l : letters) {
            out.printf("%-24s  %8d  %-40s  %s%n", l.time(), l.attempts(), RejectedKeyException.printable(l.key()),
                    l.reason());
        }
        return 0;
    }

    /** The store relay.dead-letter names, resolved as the run command resolves its settings. */
    static DeadLetterStore store(Map<String, String> overrides) {
        Function<String, Optional<String>> properties = properties(overrides);
        String state = properties.apply("relay.state").orElse("data/");
        return DeadLetterStores.open(properties.apply(DeadLetterStores.KEY).orElse(""), state);
    }

    /** application.properties, environment and system properties, with {@code overrides} (tests) on top. */
    static Function<String, Optional<String>> properties(Map<String, String> overrides) {
        PropertiesComponent properties = new DefaultCamelContext(false).getPropertiesComponent();
        properties.setLocation(R2RelayMain.PROPERTIES);
        return key -> overrides.containsKey(key) ? Optional.of(overrides.get(key)) : properties.resolveProperty(key);
    }
}
