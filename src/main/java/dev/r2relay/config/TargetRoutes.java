package dev.r2relay.config;

import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import org.apache.camel.CamelContext;
import org.apache.camel.Predicate;
import org.apache.camel.model.ModelCamelContext;
import org.apache.camel.model.ProcessorDefinition;
import org.apache.camel.model.RouteDefinition;
import org.apache.camel.model.SendDefinition;
import org.apache.camel.support.DefaultExchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks, once the routes are loaded, that relay.target and relay.trigger.target each name a
 * route consuming {@code direct:deliver-<name>}: the shipped ones or one a user added in YAML.
 */
public final class TargetRoutes {

    private static final String PREFIX = "deliver-";
    private static final String RECORD = "bean:deliveryRecorder?method=delivered";
    private static final Logger LOG = LoggerFactory.getLogger("dev.r2relay");

    private TargetRoutes() {
    }

    /** Throws a {@link SettingsException} naming the setting, its value and the targets there are. */
    public static void check(CamelContext camel, RelaySettings settings) {
        List<RouteDefinition> routes = camel instanceof ModelCamelContext model ? model.getRouteDefinitions()
                : List.of();
        check(camel, routes, "relay.target", settings.target());
        check(camel, routes, "relay.trigger.target", settings.triggerTarget());
    }

    private static void check(CamelContext camel, List<RouteDefinition> routes, String key, String target) {
        TreeSet<String> offered = new TreeSet<>();
        String unloaded = "";
        for (RouteDefinition route : routes) {
            Optional<String> name = targetOf(camel, route);
            if (name.isEmpty()) {
                continue;
            }
            if (!included(camel, route)) {
                if (name.get().equals(target)) {
                    unloaded = "; route '" + route.getRouteId() + "' consumes it but is not loaded: its"
                            + " precondition " + route.getPrecondition() + " is false";
                }
                continue;
            }
            if (name.get().equals(target)) {
                if (!records(route.getOutputs())) {
                    LOG.warn("{} ({}) is '{}', but route '{}' never calls {}: what it delivers is not recorded,"
                            + " so every poll delivers it again", key, RelaySettings.envName(key), target,
                            route.getRouteId(), RECORD);
                }
                return;
            }
            // a route that never records a delivery (deliver-http-attempt) is a step, not a target
            name.filter(n -> records(route.getOutputs())).ifPresent(offered::add);
        }
        throw new SettingsException(key + " (" + RelaySettings.envName(key) + ") is '" + target + "', but no route"
                + " consumes direct:" + PREFIX + target + unloaded + "; the targets routes/ offers are: "
                + String.join(", ", offered) + " (a route from direct:" + PREFIX + "<name> that ends with "
                + RECORD + "; a route whose precondition is false is not loaded)");
    }

    /** Whether Camel creates the route: its precondition (a simple predicate), if any, holds. */
    static boolean included(CamelContext camel, RouteDefinition route) {
        String precondition = route.getPrecondition();
        if (precondition == null || precondition.isBlank()) {
            return true;
        }
        Predicate holds = camel.resolveLanguage("simple")
                .createPredicate(camel.resolvePropertyPlaceholders(precondition));
        holds.init(camel);
        return holds.matches(new DefaultExchange(camel));
    }

    /** The {@code <name>} of a route from {@code direct:deliver-<name>}, or empty. */
    private static Optional<String> targetOf(CamelContext camel, RouteDefinition route) {
        if (route.getInput() == null || route.getInput().getEndpointUri() == null) {
            return Optional.empty();
        }
        String uri = camel.resolvePropertyPlaceholders(route.getInput().getEndpointUri()).trim();
        int query = uri.indexOf('?');
        if (query >= 0) {
            uri = uri.substring(0, query);
        }
        String name = uri.startsWith("direct://") ? uri.substring("direct://".length())
                : uri.startsWith("direct:") ? uri.substring("direct:".length()) : null;
        return name != null && name.startsWith(PREFIX) && name.length() > PREFIX.length()
                ? Optional.of(name.substring(PREFIX.length())) : Optional.empty();
    }

    private static boolean records(List<ProcessorDefinition<?>> steps) {
        for (ProcessorDefinition<?> step : steps) {
            if (step instanceof SendDefinition<?> send && RECORD.equals(send.getEndpointUri())) {
                return true;
            }
            if (step.getOutputs() != null && records(step.getOutputs())) {
                return true;
            }
        }
        return false;
    }
}
