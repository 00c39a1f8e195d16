package dev.r2relay.state;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import javax.sql.DataSource;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable record of what was delivered, rejected or dead-lettered, one row per bucket and key
 * holding the ETag it was decided for: an object whose ETag changed is new again. Embedded H2 under
 * {@code relay.state} by default.
 */
public final class DeliveryLedger implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DeliveryLedger.class);
    private static final int LOOKUP_BATCH = 500;
    /** The advisory lock that serialises schema creation among instances sharing a PostgreSQL store. */
    private static final long SCHEMA_LOCK = 0x7232_7265_6c61_7901L;

    /**
     * How an object was settled. DEAD: the target refused it or stayed unreachable through every
     * attempt; it went to the dead letters and waits for a replay (or a new version).
     */
    public enum Outcome { DELIVERED, REJECTED, DEAD }

    /** One key's row: the ETag it was settled at, how, where it went or why not, and when. */
    public record Entry(String etag, Outcome outcome, long size, String target, String reason,
                        Instant recordedAt) {
    }

    private final DataSource dataSource;
    private final AutoCloseable closer;
    private final String description;
    private final GroupCommit writes;
    private final boolean shared;
    /** The shared store's pool settings, from which {@link #claims} makes a pool of its own. */
    private final HikariConfig config;

    private DeliveryLedger(DataSource dataSource, AutoCloseable closer, String description, HikariConfig config,
                           boolean shared) {
        this.dataSource = dataSource;
        this.writes = new GroupCommit(this::connection);
        this.closer = closer;
        this.description = description;
        this.config = config;
        this.shared = shared;
    }

    /** Opens the embedded ledger in the folder {@code state}; see {@link #open(String, String, String)}. */
    public static DeliveryLedger open(String state) {
        return open(state, null, null);
    }

    /**
     * Opens the ledger named by {@code relay.state}: a folder for the embedded store, or a
     * {@code jdbc:postgresql:} URL for a store that several instances share. Fails with a message
     * naming the setting when the store cannot be opened or another process holds it.
     */
    public static DeliveryLedger open(String state, String username, String password) {
        boolean shared = StateStores.isJdbcUrl(state);
        String description;
        HikariConfig config;
        if (shared) {
            description = StateStores.describePostgres(state);
            config = poolConfig(state, username == null ? "" : username, password == null ? "" : password);
            // a database that went away fails a delivery after 10 s rather than holding it for 30
            config.setConnectionTimeout(10_000);
        } else {
            Path folder = Path.of(state).toAbsolutePath().normalize();
            try {
                Files.createDirectories(folder);
            } catch (Exception e) {
                throw new LedgerException("relay.state (RELAY_STATE): cannot create the state folder " + folder
                        + ": " + (e instanceof java.nio.file.FileAlreadyExistsException ? "a file has that name"
                        : e.getMessage()), e);
            }
            description = folder.resolve("ledger.mv.db").toString();
            // WRITE_DELAY=0: a recorded delivery is written out at commit, so a crash loses none
            config = poolConfig("jdbc:h2:file:" + folder.resolve("ledger") + ";WRITE_DELAY=0", "relay", "");
        }
        HikariDataSource pool;
        try {
            pool = new HikariDataSource(config);
        } catch (RuntimeException e) {
            throw openFailure(description, e, shared);
        }
        DeliveryLedger ledger = new DeliveryLedger(pool, pool, description, config, shared);
        try {
            ledger.createSchema();
        } catch (RuntimeException e) {
            pool.close();
            throw e;
        }
        return ledger;
    }

    private static HikariConfig poolConfig(String url, String username, String password) {
        HikariConfig config = new HikariConfig();
        config.setPoolName("relay-ledger");
        config.setJdbcUrl(url);
        config.setUsername(username);
        config.setPassword(password);
        config.setAutoCommit(true);
        config.setMaximumPoolSize(16);
        config.setMinimumIdle(1);
        config.setConnectionTimeout(30_000);
        // open one connection now: a locked or unreadable store fails the start, not the first delivery
        config.setInitializationFailTimeout(1);
        return config;
    }

    private static LedgerException openFailure(String description, Throwable e, boolean shared) {
        String message = "";
        String sqlState = null;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null) {
                message = t.getMessage();
            }
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                sqlState = sql.getSQLState();
            }
        }
        if (shared) {
            // 28P01, 28000: the server refused the user or password
            String hint = sqlState != null && sqlState.startsWith("28")
                    ? " (check relay.state.username, relay.state.password: RELAY_STATE_USERNAME, RELAY_STATE_PASSWORD)"
                    : "";
            return new LedgerException("relay.state (RELAY_STATE): cannot open the ledger " + description + ": "
                    + message + hint, e);
        }
        if (message.contains("already in use") || message.contains("locked")) {
            return new LedgerException("relay.state (RELAY_STATE): the ledger " + description
                    + " is held by another process (is another r2-relay running on the same state folder?)", e);
        }
        return new LedgerException("relay.state (RELAY_STATE): cannot open the ledger " + description + ": "
                + message, e);
    }

    private void createSchema() {
        try (Connection c = connection(); Statement s = c.createStatement()) {
            if (shared) {
                // instances starting together would race on CREATE TABLE IF NOT EXISTS: one at a time
                c.setAutoCommit(false);
                s.execute("SELECT pg_advisory_xact_lock(" + SCHEMA_LOCK + ")");
            }
            s.execute("CREATE TABLE IF NOT EXISTS relay_ledger ("
                    + " bucket VARCHAR(255) NOT NULL,"
                    + " object_key VARCHAR(1100) NOT NULL,"
                    + " etag VARCHAR(200) NOT NULL,"
                    + " outcome VARCHAR(16) NOT NULL,"
                    + " size BIGINT,"
                    + " target VARCHAR(4200),"
                    + " reason VARCHAR(1000),"
                    + " recorded_at TIMESTAMP NOT NULL,"
                    + " PRIMARY KEY (bucket, object_key))");
            s.execute("CREATE TABLE IF NOT EXISTS relay_cursor ("
                    + " bucket VARCHAR(255) NOT NULL,"
                    + " prefix VARCHAR(1100) NOT NULL,"
                    + " after_key VARCHAR(1100) NOT NULL,"
                    + " updated_at TIMESTAMP NOT NULL,"
                    + " PRIMARY KEY (bucket, prefix))");
            if (shared) {
                LeasedClaims.createSchema(s);
                c.commit();
                c.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw new LedgerException("relay.state (RELAY_STATE): cannot prepare the ledger " + description
                    + ": " + e.getMessage(), e);
        }
    }

    private Connection connection() throws SQLException {
        try {
            return dataSource.getConnection();
        } catch (SQLException e) {
            throw openFailure(description, e, shared);
        }
    }

    /** Whether several instances share this ledger (PostgreSQL), so that deliveries need claims. */
    public boolean shared() {
        return shared;
    }

    /**
     * The claims that let one delivery at a time have an object: leases in the shared store, held
     * by {@code owner} and renewed while it lives; in memory for the embedded store, which one
     * process holds.
     */
    public ObjectClaims claims(String owner, java.time.Duration lease) {
        if (!shared) {
            return new LocalClaims();
        }
        HikariConfig claimsConfig = new HikariConfig();
        config.copyStateTo(claimsConfig);
        claimsConfig.setPoolName("relay-claims");
        claimsConfig.setMaximumPoolSize(8);
        // a claim lives a lease at most: it need not wait for the disk. A database crash can lose the
        // last claims taken; the ledger's records, on their own connections, stay synchronous
        claimsConfig.setConnectionInitSql("SET synchronous_commit TO OFF");
        HikariDataSource pool;
        try {
            pool = new HikariDataSource(claimsConfig);
        } catch (RuntimeException e) {
            throw openFailure(description, e, true);
        }
        return new LeasedClaims(pool, pool, description, owner, lease);
    }

    /** Where the ledger lives, for the start-up summary. */
    public String description() {
        return description;
    }

    /** Checks that the store answers; used at start-up so a broken store fails fast. */
    public long count() {
        try (Connection c = connection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM relay_ledger")) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new LedgerException("relay.state: cannot read the ledger " + description + ": " + e.getMessage(), e);
        }
    }

    /** Asks the store a trivial question; throws when it does not answer (closed, broken, locked). */
    public void ping() {
        try (Connection c = connection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT 1 FROM relay_ledger LIMIT 1")) {
            rs.next();
        } catch (SQLException e) {
            throw new LedgerException("relay.state: cannot read the ledger " + description + ": " + e.getMessage(), e);
        }
    }

    /** The keys among {@code objects} already settled (delivered, rejected or dead) at their listed ETag. */
    public Set<String> settled(String bucket, List<ObjectRef> objects) {
        Set<String> settled = new HashSet<>();
        try (Connection c = connection()) {
            for (int from = 0; from < objects.size(); from += LOOKUP_BATCH) {
                List<ObjectRef> batch = objects.subList(from, Math.min(objects.size(), from + LOOKUP_BATCH));
                // a join with the listed keys: one primary-key lookup per key. H2 answers the plainer
                // "bucket = ? AND object_key IN (...)" by scanning every row of the bucket per batch
                StringBuilder sql = new StringBuilder("SELECT l.object_key, l.etag FROM (VALUES ");
                for (int i = 0; i < batch.size(); i++) {
                    sql.append(i == 0 ? "(CAST(? AS VARCHAR(1100)))" : ",(?)");
                }
                sql.append(") v(k) JOIN relay_ledger l ON l.bucket = ? AND l.object_key = v.k");
                try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
                    for (int i = 0; i < batch.size(); i++) {
                        ps.setString(i + 1, batch.get(i).key());
                    }
                    ps.setString(batch.size() + 1, bucket);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            settled.add(rs.getString(1) + '\u0000' + rs.getString(2));
                        }
                    }
                }
            }
        } catch (SQLException e) {
            throw new LedgerException("relay.state: cannot read the ledger " + description + ": " + e.getMessage(), e);
        }
        Set<String> keys = new HashSet<>();
        for (ObjectRef o : objects) {
            if (settled.contains(o.key() + '\u0000' + o.etag())) {
                keys.add(o.key());
            }
        }
        return keys;
    }

    /** The ETag recorded for a key, or null. */
    public String recordedEtag(String bucket, String key) {
        try (Connection c = connection();
             PreparedStatement ps = c.prepareStatement(
                     "SELECT etag FROM relay_ledger WHERE bucket = ? AND object_key = ?")) {
            ps.setString(1, bucket);
            ps.setString(2, key);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        } catch (SQLException e) {
            throw new LedgerException("relay.state: cannot read the ledger " + description + ": " + e.getMessage(), e);
        }
    }

    /** What the ledger holds for a key, if anything. */
    public Optional<Entry> entry(String bucket, String key) {
        try (Connection c = connection();
             PreparedStatement ps = c.prepareStatement("SELECT etag, outcome, size, target, reason, recorded_at"
                     + " FROM relay_ledger WHERE bucket = ? AND object_key = ?")) {
            ps.setString(1, bucket);
            ps.setString(2, key);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                return Optional.of(new Entry(rs.getString(1), Outcome.valueOf(rs.getString(2)), rs.getLong(3),
                        rs.getString(4), rs.getString(5), rs.getTimestamp(6).toInstant()));
            }
        } catch (SQLException e) {
            throw new LedgerException("relay.state: cannot read the ledger " + description + ": " + e.getMessage(), e);
        }
    }

    /** The incremental listing position for a bucket and prefix, or null. */
    public String cursor(String bucket, String prefix) {
        try (Connection c = connection();
             PreparedStatement ps = c.prepareStatement(
                     "SELECT after_key FROM relay_cursor WHERE bucket = ? AND prefix = ?")) {
            ps.setString(1, bucket);
            ps.setString(2, prefix);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        } catch (SQLException e) {
            throw new LedgerException("relay.state: cannot read the ledger " + description + ": " + e.getMessage(), e);
        }
    }

    public void saveCursor(String bucket, String prefix, String afterKey) {
        String sql = "MERGE INTO relay_cursor t USING (VALUES (CAST(? AS VARCHAR(255)), CAST(? AS VARCHAR(1100))))"
                + " s(bucket, prefix) ON t.bucket = s.bucket AND t.prefix = s.prefix"
                + " WHEN MATCHED THEN UPDATE SET after_key = ?, updated_at = ?"
                + " WHEN NOT MATCHED THEN INSERT (bucket, prefix, after_key, updated_at) VALUES (?, ?, ?, ?)";
        Timestamp now = Timestamp.from(Instant.now());
        try (Connection c = connection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, bucket);
            ps.setString(2, prefix);
            ps.setString(3, afterKey);
            ps.setTimestamp(4, now);
            ps.setString(5, bucket);
            ps.setString(6, prefix);
            ps.setString(7, afterKey);
            ps.setTimestamp(8, now);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new LedgerException("relay.state: cannot update the ledger " + description + ": " + e.getMessage(), e);
        }
    }

    /** Drops the record of a key, so that the object is delivered again if it comes back. */
    public void forget(String bucket, String key) {
        try (Connection c = connection();
             PreparedStatement ps = c.prepareStatement("DELETE FROM relay_ledger WHERE bucket = ? AND object_key = ?")) {
            ps.setString(1, bucket);
            ps.setString(2, key);
            ps.executeUpdate();
        } catch (SQLException e) {
            throw new LedgerException("relay.state: cannot update the ledger " + description + ": " + e.getMessage(), e);
        }
    }

    public void recordDelivered(String bucket, String key, String etag, long size, String target) {
        record(bucket, key, etag, Outcome.DELIVERED, size, target, null);
    }

    public void recordRejected(String bucket, String key, String etag, String reason) {
        record(bucket, key, etag, Outcome.REJECTED, -1, null, reason);
    }

    /** Records an object given up on: it is not listed as new again until its ETag changes or it is replayed. */
    public void recordDead(String bucket, String key, String etag, long size, String target, String reason) {
        record(bucket, key, etag, Outcome.DEAD, size, target, reason);
    }

    private void record(String bucket, String key, String etag, Outcome outcome, long size, String target,
                        String reason) {
        String sql = "MERGE INTO relay_ledger t USING (VALUES (CAST(? AS VARCHAR(255)), CAST(? AS VARCHAR(1100))))"
                + " s(bucket, object_key) ON t.bucket = s.bucket AND t.object_key = s.object_key"
                + " WHEN MATCHED THEN UPDATE SET etag = ?, outcome = ?, size = ?, target = ?, reason = ?,"
                + " recorded_at = ?"
                + " WHEN NOT MATCHED THEN INSERT (bucket, object_key, etag, outcome, size, target, reason,"
                + " recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
        Timestamp now = Timestamp.from(Instant.now());
        try {
            writes.submit(c -> merge(c, sql, bucket, key, etag, outcome, size, target, reason, now));
        } catch (SQLException e) {
            if (!"23505".equals(e.getSQLState())) {
                throw new LedgerException("relay.state: cannot record " + outcome.name().toLowerCase() + " '" + key
                        + "' in " + description + ": " + e.getMessage(), e);
            }
            // two deliveries of one key (a trigger and a poll) inserted at once: the second updates
            try {
                writes.submit(c -> merge(c, sql, bucket, key, etag, outcome, size, target, reason, now));
            } catch (SQLException again) {
                throw new LedgerException("relay.state: cannot record " + outcome.name().toLowerCase() + " '" + key
                        + "' in " + description + ": " + again.getMessage(), again);
            }
        }
        LOG.debug("Recorded {} {}/{} etag={}", outcome, bucket, key, etag);
    }

    private static void merge(Connection c, String sql, String bucket, String key, String etag, Outcome outcome,
                              long size, String target, String reason, Timestamp now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, bucket);
            ps.setString(2, key);
            ps.setString(3, etag);
            ps.setString(4, outcome.name());
            ps.setLong(5, size);
            ps.setString(6, target);
            ps.setString(7, truncate(reason));
            ps.setTimestamp(8, now);
            ps.setString(9, bucket);
            ps.setString(10, key);
            ps.setString(11, etag);
            ps.setString(12, outcome.name());
            ps.setLong(13, size);
            ps.setString(14, target);
            ps.setString(15, truncate(reason));
            ps.setTimestamp(16, now);
            ps.executeUpdate();
        }
    }

    private static String truncate(String reason) {
        return reason == null || reason.length() <= 1000 ? reason : reason.substring(0, 1000);
    }

    @Override
    public void close() {
        try {
            closer.close();
        } catch (Exception e) {
            LOG.warn("Closing the ledger {} failed: {}", description, e.getMessage());
        }
    }
}
