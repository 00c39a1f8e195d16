package dev.r2relay.state;

import java.net.URI;
import java.util.Locale;

/**
 * What {@code relay.state} names: a folder for the embedded store (one instance), or a
 * {@code jdbc:postgresql:} URL for a store that several instances share.
 */
public final class StateStores {

    private static final String POSTGRES = "jdbc:postgresql:";

    private StateStores() {
    }

    /** Whether {@code state} is a JDBC URL rather than a folder. */
    public static boolean isJdbcUrl(String state) {
        return state.regionMatches(true, 0, "jdbc:", 0, 5);
    }

    /**
     * Why {@code state}, a JDBC URL, cannot be used, or null when it can: only PostgreSQL is
     * supported, and credentials belong in relay.state.username and relay.state.password, not in
     * the URL, which is shown at start-up.
     */
    public static String problem(String state) {
        if (!state.regionMatches(true, 0, POSTGRES, 0, POSTGRES.length())) {
            return "a JDBC URL must name PostgreSQL (jdbc:postgresql://HOST:PORT/DATABASE), got '"
                    + state.replaceFirst("[?;].*", "") + "'";
        }
        String lower = state.toLowerCase(Locale.ROOT);
        if (lower.contains("password=") || lower.matches("jdbc:postgresql://[^/?]*@.*")) {
            return "the JDBC URL must not carry credentials (it is shown at start-up): set relay.state.username"
                    + " (RELAY_STATE_USERNAME) and relay.state.password (RELAY_STATE_PASSWORD)";
        }
        if (describePostgres(state).isEmpty()) {
            return "not a valid PostgreSQL JDBC URL: '" + state.replaceFirst("[?;].*", "") + "'";
        }
        return null;
    }

    /**
     * The store as logs may show it: host, port, database and schema, never the query string
     * (which may carry other secrets such as an SSL key password). Empty when the URL is unreadable.
     */
    public static String describePostgres(String url) {
        String rest = url.substring(POSTGRES.length());
        String query = "";
        int q = rest.indexOf('?');
        if (q >= 0) {
            query = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        if (!rest.startsWith("//")) {
            // jdbc:postgresql:database (localhost:5432)
            return rest.isEmpty() || rest.contains("/") ? "" : "PostgreSQL localhost:5432/" + rest + schema(query);
        }
        try {
            URI uri = new URI("postgresql:" + rest);
            String host = uri.getHost() == null ? uri.getAuthority() : uri.getHost()
                    + (uri.getPort() < 0 ? ":5432" : ":" + uri.getPort());
            if (host == null) {
                return "";
            }
            String database = uri.getPath() == null || uri.getPath().length() <= 1 ? "" : uri.getPath().substring(1);
            return "PostgreSQL " + host + "/" + database + schema(query);
        } catch (Exception e) {
            return "";
        }
    }

    private static String schema(String query) {
        for (String pair : query.split("&")) {
            if (pair.regionMatches(true, 0, "currentSchema=", 0, "currentSchema=".length())) {
                return " (schema " + pair.substring("currentSchema=".length()) + ")";
            }
        }
        return "";
    }
}
