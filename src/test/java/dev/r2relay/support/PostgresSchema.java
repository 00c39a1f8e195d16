package dev.r2relay.support;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Assumptions;

/**
 * A schema of its own in the machine's PostgreSQL (127.0.0.1:5432, database test, trust
 * authentication; R2RELAY_TEST_POSTGRES_URL and R2RELAY_TEST_POSTGRES_USER point elsewhere),
 * created for one test and dropped with everything in it when closed. When no server answers
 * the test is skipped with the reason, unless R2RELAY_REQUIRE_POSTGRES=true (CI), where it fails.
 */
public final class PostgresSchema implements AutoCloseable {

    public static final String BASE_URL = env("R2RELAY_TEST_POSTGRES_URL", "jdbc:postgresql://127.0.0.1:5432/test");
    public static final String USER = env("R2RELAY_TEST_POSTGRES_USER", "postgres");

    private final String name;

    private PostgresSchema(String name) {
        this.name = name;
    }

    /** Creates a fresh schema; skips (or, when PostgreSQL is required, fails) the test when none can be made. */
    public static PostgresSchema create() {
        String name = "r2relay_test_" + Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
        try (Connection c = DriverManager.getConnection(BASE_URL, USER, ""); Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA " + name);
        } catch (SQLException e) {
            String reason = "no PostgreSQL answers at " + BASE_URL + " as " + USER + " (" + e.getMessage()
                    + "); start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start";
            if (Boolean.parseBoolean(System.getenv("R2RELAY_REQUIRE_POSTGRES"))) {
                throw new AssertionError(reason + " (R2RELAY_REQUIRE_POSTGRES=true)", e);
            }
            Assumptions.abort(reason);
        }
        return new PostgresSchema(name);
    }

    public String name() {
        return name;
    }

    /** relay.state for r2-relay: the base URL with this schema as its current schema. */
    public String url() {
        return BASE_URL + (BASE_URL.contains("?") ? "&" : "?") + "currentSchema=" + name;
    }

    /** A connection whose current schema is this one. */
    public Connection connect() throws SQLException {
        return DriverManager.getConnection(url(), USER, "");
    }

    /** Runs a query that returns one number, such as a count. */
    public long queryLong(String sql) throws SQLException {
        try (Connection c = connect(); Statement s = c.createStatement(); var rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Override
    public void close() throws SQLException {
        try (Connection c = DriverManager.getConnection(BASE_URL, USER, ""); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS " + name + " CASCADE");
        }
    }

    private static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isBlank() ? fallback : value;
    }
}
