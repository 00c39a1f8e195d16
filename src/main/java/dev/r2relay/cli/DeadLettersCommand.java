package dev.r2relay.cli;

import dev.r2relay.config.RelaySettings;
import dev.r2relay.config.SettingsException;
import dev.r2relay.deadletter.DeadLetter;
import dev.r2relay.deadletter.DeadLetterStore;
import dev.r2relay.deadletter.DeadLetterStores;
import dev.r2relay.deadletter.JmsDeadLetterStore;
import dev.r2relay.delivery.RejectedKeyException;
import dev.r2relay.jms.CommandBroker;
import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.spi.PropertiesComponent;

/**
 * {@code dead-letters}: lists the objects a target gave up on, oldest first, from the folder or the
 * queue (browsed, not consumed) of {@code relay.dead-letter}. Works while the relay runs.
 */
final class DeadLettersCommand {

    private DeadLettersCommand() {
    }

    static int run(String[] args, Map<String, String> overrides, PrintStream out, PrintStream err) {
        if (args.length > 0) {
            err.println("r2-relay: dead-letters takes no arguments\n");
            err.print(R2RelayMain.USAGE);
            return 2;
        }
        Optional<String> queue;
        try {
            queue = queueName(overrides);
        } catch (SettingsException e) {
            err.println("r2-relay: " + e.getMessage());
            return 2;
        }
        if (queue.isEmpty()) {
            return list(folderStore(overrides), out, err);
        }
        Function<String, Optional<String>> properties = properties(overrides);
        try (CommandBroker broker = CommandBroker.open(properties, state(properties))) {
            return list(new JmsDeadLetterStore(broker.factory(), queue.get(), broker.describe()), out, err);
        } catch (SettingsException e) {
            err.println("r2-relay: " + e.getMessage());
            return 2;
        } catch (Exception e) {
            err.println("r2-relay: " + e.getMessage());
            return 1;
        }
    }

    private static int list(DeadLetterStore store, PrintStream out, PrintStream err) {
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

    /** The queue relay.dead-letter names, or empty when it is a folder. */
    static Optional<String> queueName(Map<String, String> overrides) {
        return DeadLetterStores.queueName(properties(overrides).apply(DeadLetterStores.KEY).orElse(""));
    }

    /** The folder relay.dead-letter names, resolved as the run command resolves its settings. */
    static DeadLetterStore folderStore(Map<String, String> overrides) {
        Function<String, Optional<String>> properties = properties(overrides);
        return DeadLetterStores.open(properties.apply(DeadLetterStores.KEY).orElse(""), state(properties));
    }

    private static String state(Function<String, Optional<String>> properties) {
        return RelaySettings.localState(properties.apply("relay.state").orElse("data/"),
                properties.apply("relay.local-state")).toString();
    }

    /** application.properties, environment and system properties, with {@code overrides} (tests) on top. */
    static Function<String, Optional<String>> properties(Map<String, String> overrides) {
        PropertiesComponent properties = new DefaultCamelContext(false).getPropertiesComponent();
        properties.setLocation(R2RelayMain.PROPERTIES);
        return key -> overrides.containsKey(key) ? Optional.of(overrides.get(key)) : properties.resolveProperty(key);
    }
}
