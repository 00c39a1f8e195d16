package dev.r2relay.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.camel.CamelContext;
import org.apache.camel.FailedToCreateRouteException;
import org.apache.camel.LineNumberAware;
import org.apache.camel.model.ModelCamelContext;
import org.apache.camel.model.OptionalIdentifiedDefinition;
import org.apache.camel.model.ProcessorDefinition;
import org.apache.camel.model.RouteDefinition;
import org.apache.camel.model.SendDefinition;
import org.apache.camel.util.URISupport;

/**
 * Where a route that failed to start is written: file, line, route id and step id. Camel names
 * the failing step only by its text and the file only for some failures; the route model it
 * loaded from the YAML files still holds the line of every step.
 */
final class RouteSource {

    private RouteSource() {
    }

    /** "FILE, line N (route 'r', step 's')" for a failure to create a route, or empty for any other failure. */
    static Optional<String> of(Throwable failure, CamelContext camel) {
        FailedToCreateRouteException failed = find(failure);
        if (failed == null || failed.getRouteId() == null) {
            return Optional.empty();
        }
        String routeId = failed.getRouteId();
        RouteDefinition route = camel instanceof ModelCamelContext model ? model.getRouteDefinition(routeId) : null;
        if (route == null) {
            return Optional.of((failed.getLocation() == null ? "" : failed.getLocation() + " ") + "(route '"
                    + routeId + "')");
        }
        OptionalIdentifiedDefinition<?> node = innermost(failingNode(route, failed.getMessage()), failure, camel);
        StringBuilder where = new StringBuilder();
        String file = location(node);
        if (file == null) {
            file = location(route);
        }
        if (file == null && route.getResource() != null) {
            file = route.getResource().getLocation();
        }
        where.append(file == null ? "routes" : file);
        int line = node.getLineNumber() > 0 ? node.getLineNumber() : route.getLineNumber();
        if (line > 0) {
            where.append(", line ").append(line);
        }
        where.append(" (route '").append(routeId).append('\'');
        if (node != route && node.hasCustomIdAssigned()) {
            where.append(", step '").append(node.getId()).append('\'');
        }
        return Optional.of(where.append(')').toString());
    }

    /**
     * The step Camel's message points at ("at: >>> to[uri] <<<"); the consumer when there is no such
     * marker, as Camel leaves it out when the route's own endpoint cannot be resolved.
     */
    private static OptionalIdentifiedDefinition<?> failingNode(RouteDefinition route, String message) {
        String at = between(message, " at: >>> ", " <<< in route: ");
        if (at != null) {
            for (ProcessorDefinition<?> step : steps(route.getOutputs(), new ArrayList<>())) {
                if (at.equals(step.toString())) {
                    return step;
                }
            }
            return route;
        }
        return route.getInput() != null ? route.getInput() : route;
    }

    /**
     * Within a failing step that holds others (a choice, a split), the step whose endpoint the
     * failure names, so that the user is sent to the line with the mistake.
     */
    private static OptionalIdentifiedDefinition<?> innermost(OptionalIdentifiedDefinition<?> node, Throwable failure,
                                                            CamelContext camel) {
        if (!(node instanceof ProcessorDefinition<?> parent) || parent.getOutputs().isEmpty()) {
            return node;
        }
        StringBuilder messages = new StringBuilder();
        for (Throwable t = failure; t != null && t.getCause() != t; t = t.getCause()) {
            if (!(t instanceof FailedToCreateRouteException)) { // its message quotes every step of the route
                messages.append(t.getMessage()).append('\n');
            }
        }
        for (ProcessorDefinition<?> step : steps(parent.getOutputs(), new ArrayList<>())) {
            if (step instanceof SendDefinition<?> send && send.getEndpointUri() != null) {
                try {
                    String uri = camel.resolvePropertyPlaceholders(send.getEndpointUri());
                    if (messages.indexOf(URISupport.normalizeUri(uri)) >= 0 || messages.indexOf(uri) >= 0) {
                        return step;
                    }
                } catch (Exception unresolvable) {
                    // not this step
                }
            }
        }
        return node;
    }

    private static List<ProcessorDefinition<?>> steps(List<ProcessorDefinition<?>> outputs,
                                                      List<ProcessorDefinition<?>> into) {
        for (ProcessorDefinition<?> step : outputs) {
            into.add(step);
            steps(step.getOutputs(), into);
        }
        return into;
    }

    private static String location(LineNumberAware node) {
        String location = node.getLocation();
        return location == null || location.isBlank() ? null : location;
    }

    private static String between(String text, String start, String end) {
        if (text == null) {
            return null;
        }
        int from = text.indexOf(start);
        int to = from < 0 ? -1 : text.indexOf(end, from + start.length());
        return to < 0 ? null : text.substring(from + start.length(), to);
    }

    private static FailedToCreateRouteException find(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof FailedToCreateRouteException f) {
                return f;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return null;
    }
}
