package dev.r2relay.cli;

import dev.r2relay.client.S3Errors;
import dev.r2relay.config.RelaySettings;
import dev.r2relay.config.SettingsException;
import dev.r2relay.deadletter.DeadLetter;
import dev.r2relay.deadletter.DeadLetterStore;
import dev.r2relay.deadletter.DeadLetters;
import dev.r2relay.deadletter.TargetFailure;
import dev.r2relay.delivery.RejectedKeyException;
import dev.r2relay.delivery.RelayHeaders;
import dev.r2relay.state.DeliveryLedger;
import dev.r2relay.state.ObjectRef;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.ToIntFunction;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.InvalidPayloadException;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.main.Main;
import org.apache.camel.support.DefaultExchange;

/**
 * {@code replay [KEY...]}: delivers dead letters again (all, or the named keys) through the
 * configured target's route, exactly as the poller would: the application starts with its poller
 * off, each letter goes to {@code direct:deliver-<relay.target>}, and the route's own steps record
 * it as delivered and remove its letter. Needs the ledger, so the relay must not be running.
 */
final class ReplayCommand {

    private ReplayCommand() {
    }

    static int run(String[] args, Map<String, String> overrides, PrintStream out, PrintStream err) {
        boolean queue;
        try {
            queue = DeadLettersCommand.queueName(overrides).isPresent();
        } catch (SettingsException e) {
            err.println("r2-relay: " + e.getMessage());
            return 2;
        }
        Set<String> wanted = new LinkedHashSet<>(Arrays.asList(args));
        if (queue) {
            // the letters are read through the broker the application starts (or connects to)
            return withApplication(overrides, err, camel -> {
                DeadLetterStore store = camel.getRegistry().lookupByNameAndType("deadLetters", DeadLetters.class)
                        .store();
                return replaySelected(camel, store, wanted, out, err);
            });
        }
        DeadLetterStore store;
        List<DeadLetter> letters;
        try {
            store = DeadLettersCommand.folderStore(overrides);
            if (!store.browsable()) {
                err.println("r2-relay: dead letters go to " + store.describe() + "; replay them from there");
                return 2;
            }
            letters = store.list();
        } catch (SettingsException e) {
            err.println("r2-relay: " + e.getMessage());
            return 2;
        } catch (IOException e) {
            err.println("r2-relay: cannot read the dead letters: " + e.getMessage());
            return 1;
        }
        List<DeadLetter> selected = select(letters, wanted, store, err);
        if (selected == null) {
            return 3;
        }
        if (selected.isEmpty()) {
            out.println("No dead letters to replay in " + store.describe());
            return 0;
        }
        return withApplication(overrides, err, camel -> replay(camel, store, selected, out, err));
    }

    private static int replaySelected(CamelContext camel, DeadLetterStore store, Set<String> wanted, PrintStream out,
                                      PrintStream err) {
        List<DeadLetter> letters;
        try {
            letters = store.list();
        } catch (IOException e) {
            err.println("r2-relay: cannot read the dead letters: " + e.getMessage());
            return 1;
        }
        List<DeadLetter> selected = select(letters, wanted, store, err);
        if (selected == null) {
            return 3;
        }
        if (selected.isEmpty()) {
            out.println("No dead letters to replay in " + store.describe());
            return 0;
        }
        return replay(camel, store, selected, out, err);
    }

    /** The letters of the wanted keys (all when none is named), or null after naming the keys without one. */
    private static List<DeadLetter> select(List<DeadLetter> letters, Set<String> wanted, DeadLetterStore store,
                                           PrintStream err) {
        if (wanted.isEmpty()) {
            return letters;
        }
        Set<String> missing = new LinkedHashSet<>(wanted);
        List<DeadLetter> named = new ArrayList<>();
        for (DeadLetter l : letters) {
            if (missing.remove(l.key())) {
                named.add(l);
            }
        }
        if (!missing.isEmpty()) {
            err.println("r2-relay: no dead letter in " + store.describe() + " for key(s): "
                    + String.join(", ", missing.stream().map(RejectedKeyException::printable).toList())
                    + " (list them with: dead-letters)");
            return null;
        }
        return named;
    }

    /** Starts the application with its poller off, runs {@code work} on it, then stops it. */
    private static int withApplication(Map<String, String> overrides, PrintStream err,
                                       ToIntFunction<CamelContext> work) {
        Main main = R2RelayMain.newMain();
        overrides.forEach(main::addOverrideProperty);
        main.addOverrideProperty("relay.poll.enabled", "false");
        try {
            main.start();
        } catch (Exception e) {
            return R2RelayMain.report(e, err);
        }
        try {
            return work.applyAsInt(main.getCamelContext());
        } finally {
            try {
                main.stop();
            } catch (Exception e) {
                err.println("r2-relay: stopping after the replay: " + e.getMessage());
            }
        }
    }

    private static int replay(CamelContext camel, DeadLetterStore store, List<DeadLetter> letters, PrintStream out,
                              PrintStream err) {
        var registry = camel.getRegistry();
        RelaySettings settings = registry.lookupByNameAndType("relaySettings", RelaySettings.class);
        DeliveryLedger ledger = registry.lookupByNameAndType("deliveryLedger", DeliveryLedger.class);
        RelayHeaders headers = registry.lookupByNameAndType("relayHeaders", RelayHeaders.class);
        String route = "direct:deliver-" + settings.target();
        int failed = 0;
        try (ProducerTemplate template = camel.createProducerTemplate()) {
            for (DeadLetter letter : letters) {
                String key = RejectedKeyException.printable(letter.key());
                if (!letter.bucket().equals(settings.bucket())) {
                    err.println("not replayed " + key + ": it is from bucket '" + letter.bucket()
                            + "', r2.bucket is '" + settings.bucket() + "'");
                    failed++;
                    continue;
                }
                Instant started = Instant.now();
                Exchange exchange = new DefaultExchange(camel);
                exchange.getMessage().setBody(new ObjectRef(letter.bucket(), letter.key(), letter.etag(),
                        letter.size(), null, false));
                headers.describe(exchange);
                exchange = template.send(route, exchange);
                Optional<DeliveryLedger.Entry> entry = ledger.entry(letter.bucket(), letter.key());
                if (entry.isPresent() && entry.get().outcome() == DeliveryLedger.Outcome.DELIVERED
                        && !entry.get().recordedAt().isBefore(started.minusSeconds(1))) {
                    store.remove(letter.bucket(), letter.key());
                    out.println("replayed " + key + " -> " + entry.get().target());
                } else {
                    failed++;
                    err.println("still failing " + key + ": " + why(exchange, entry, letter));
                }
            }
        } catch (IOException | InvalidPayloadException e) {
            err.println("r2-relay: " + e.getMessage());
            return 1;
        }
        if (failed > 0) {
            err.println("r2-relay: " + failed + " of " + letters.size() + " dead letter(s) could not be delivered;"
                    + " they stay in " + store.describe());
            return 1;
        }
        out.println("Replayed " + letters.size() + " dead letter(s) through " + route);
        return 0;
    }

    private static String why(Exchange exchange, Optional<DeliveryLedger.Entry> entry, DeadLetter letter) {
        Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        if (cause == null) {
            cause = exchange.getException();
        }
        if (cause instanceof TargetFailure failure) {
            return "dead-lettered again: " + failure.reason();
        }
        if (cause != null) {
            return S3Errors.describe(cause, null, letter.bucket(), letter.key());
        }
        if (entry.isPresent() && entry.get().outcome() != DeliveryLedger.Outcome.DELIVERED) {
            return entry.get().outcome().name().toLowerCase(Locale.ROOT) + ": " + entry.get().reason();
        }
        return "not delivered";
    }
}
