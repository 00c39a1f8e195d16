package dev.r2relay.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.camel.CamelContext;
import org.apache.camel.model.ProcessorDefinition;
import org.apache.camel.model.RouteDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets a copied route keep its step ids. Camel wants every step id unique among all routes, so a
 * copy of routes/deliver-jms.camel.yaml with a new route id and queue would not start; instead, the
 * routes that share step ids get their steps named {@code <route id>.<step id>}.
 */
public final class StepIds {

    private static final Logger LOG = LoggerFactory.getLogger(StepIds.class);

    private StepIds() {
    }

    /** Prefixes the step ids of each route whose step ids another route uses too; returns those routes' ids. */
    public static Set<String> scope(CamelContext camel, List<RouteDefinition> routes) {
        Map<String, Set<RouteDefinition>> owners = new LinkedHashMap<>();
        for (RouteDefinition route : routes) {
            if (route.getNodePrefixId() != null || !TargetRoutes.included(camel, route)) {
                continue; // the user chose its prefix, or the route is not loaded (its precondition is false)
            }
            for (String id : stepIds(route.getOutputs(), new ArrayList<>())) {
                owners.computeIfAbsent(id, k -> new LinkedHashSet<>()).add(route);
            }
        }
        Set<String> scoped = new TreeSet<>();
        Set<String> shared = new TreeSet<>();
        for (Map.Entry<String, Set<RouteDefinition>> e : owners.entrySet()) {
            if (e.getValue().size() > 1) {
                shared.add(e.getKey());
                for (RouteDefinition route : e.getValue()) {
                    if (route.getRouteId() != null && scoped.add(route.getRouteId())) {
                        route.setNodePrefixId(route.getRouteId() + ".");
                    }
                }
            }
        }
        if (!scoped.isEmpty()) {
            LOG.info("Routes {} share step ids ({}): their steps are named <route id>.<step id>", scoped, shared);
        }
        return scoped;
    }

    private static List<String> stepIds(List<ProcessorDefinition<?>> steps, List<String> into) {
        for (ProcessorDefinition<?> step : steps) {
            if (step.isAbstract()) {
                continue; // onException and the like, which routes share through routeConfigurationId
            }
            if (step.hasCustomIdAssigned()) {
                into.add(step.getId());
            }
            if (step.getOutputs() != null) {
                stepIds(step.getOutputs(), into);
            }
        }
        return into;
    }
}
