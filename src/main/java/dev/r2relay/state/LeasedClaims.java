package dev.r2relay.state;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Claims in a PostgreSQL store that several instances share: one row per object being delivered,
 * naming its holder and when its lease ends. A claim is taken by one atomic upsert that succeeds
 * only when no row exists or the row's lease has ended, so two instances can never both take over
 * the same orphaned claim: PostgreSQL locks the row and re-checks the lease on its newest version
 * before the second upsert may change it. Leases are measured on the database's clock, so the
 * instances' own clocks do not matter. A live holder renews all its leases at a third of their
 * length; a dead one stops renewing, and its claims are taken over once they end.
 */
final class LeasedClaims implements ObjectClaims {

    private static final Logger LOG = LoggerFactory.getLogger("dev.r2relay.claims");

    private static final String CLAIM = "INSERT INTO relay_claim AS c"
            + " (bucket, object_key, etag, owner, claimed_at, expires_at, taken_from)"
            + " VALUES (?, ?, ?, ?, now(), now() + make_interval(secs => ?), NULL)"
            + " ON CONFLICT (bucket, object_key) DO UPDATE SET etag = EXCLUDED.etag, owner = EXCLUDED.owner,"
            + " claimed_at = EXCLUDED.claimed_at, expires_at = EXCLUDED.expires_at,"
            // an instance claiming again what its own lapsed lease held takes nothing over
            + " taken_from = CASE WHEN c.owner = EXCLUDED.owner THEN NULL ELSE c.owner END"
            + " WHERE c.expires_at <= now()"
            + " RETURNING taken_from";

    private final DataSource dataSource;
    private final AutoCloseable pool;
    private final String description;
    private final String owner;
    private final Duration lease;
    private final ScheduledExecutorService renewer;
    private volatile boolean renewalFailing;
    private volatile boolean closed;

    /** Claims through {@code dataSource}, whose {@code pool} they close when they are closed. */
    LeasedClaims(DataSource dataSource, AutoCloseable pool, String description, String owner, Duration lease) {
        this.dataSource = dataSource;
        this.pool = pool;
        this.description = description;
        this.owner = owner;
        this.lease = lease;
        this.renewer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "relay-claim-renewer");
            t.setDaemon(true);
            return t;
        });
        long every = Math.max(100, lease.toMillis() / 3);
        renewer.scheduleWithFixedDelay(this::renew, every, every, TimeUnit.MILLISECONDS);
    }

    static void createSchema(Statement s) throws SQLException {
        s.execute("CREATE TABLE IF NOT EXISTS relay_claim ("
                + " bucket VARCHAR(255) NOT NULL,"
                + " object_key VARCHAR(1100) NOT NULL,"
                + " etag VARCHAR(200) NOT NULL,"
                + " owner VARCHAR(200) NOT NULL,"
                + " claimed_at TIMESTAMPTZ NOT NULL,"
                + " expires_at TIMESTAMPTZ NOT NULL,"
                + " taken_from VARCHAR(200),"
                + " PRIMARY KEY (bucket, object_key))");
        s.execute("CREATE INDEX IF NOT EXISTS relay_claim_owner ON relay_claim (owner)");
    }

    @Override
    public Claim claim(String bucket, String key, String etag) {
        try (Connection c = dataSource.getConnection()) {
            try (PreparedStatement ps = c.prepareStatement(CLAIM)) {
                ps.setString(1, bucket);
                ps.setString(2, key);
                ps.setString(3, etag);
                ps.setString(4, owner);
                ps.setDouble(5, lease.toMillis() / 1000.0);
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        String previous = rs.getString(1);
                        return previous == null ? new Claim(Result.CLAIMED, null)
                                : new Claim(Result.TAKEN_OVER, previous);
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT owner FROM relay_claim WHERE bucket = ? AND object_key = ?")) {
                ps.setString(1, bucket);
                ps.setString(2, key);
                try (ResultSet rs = ps.executeQuery()) {
                    return new Claim(Result.HELD, rs.next() ? rs.getString(1) : null);
                }
            }
        } catch (SQLException e) {
            throw new LedgerException("relay.state: cannot claim '" + key + "' in " + description + ": "
                    + e.getMessage(), e);
        }
    }

    @Override
    public void release(String bucket, String key) {
        int released;
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement(
                     "DELETE FROM relay_claim WHERE bucket = ? AND object_key = ? AND owner = ?")) {
            ps.setString(1, bucket);
            ps.setString(2, key);
            ps.setString(3, owner);
            released = ps.executeUpdate();
        } catch (SQLException e) {
            // the lease ends on its own; until then no other instance delivers the object
            LOG.warn("cannot release the claim on {}/{} in {}: {}; it ends with its lease ({} ms)", bucket, key,
                    description, e.getMessage(), lease.toMillis());
            return;
        }
        if (released == 0 && !closed) { // after close, every claim was released already
            LOG.warn("the claim on {}/{} ran out before its delivery ended (lease {} ms, renewals {}): another"
                    + " instance may have delivered it too, with the same identity", bucket, key, lease.toMillis(),
                    renewalFailing ? "failing" : "working");
        }
    }

    /** Extends every lease this instance holds; run at a third of the lease. */
    private void renew() {
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement(
                     "UPDATE relay_claim SET expires_at = now() + make_interval(secs => ?) WHERE owner = ?")) {
            ps.setDouble(1, lease.toMillis() / 1000.0);
            ps.setString(2, owner);
            int renewed = ps.executeUpdate();
            if (renewalFailing) {
                renewalFailing = false;
                LOG.info("renewing claims in {} works again ({} held)", description, renewed);
            }
            LOG.trace("renewed {} claim(s)", renewed);
        } catch (SQLException | RuntimeException e) {
            if (!renewalFailing) {
                renewalFailing = true;
                LOG.warn("cannot renew this instance's claims in {}: {}; other instances take its deliveries"
                        + " over once their lease ({} ms) runs out", description, e.getMessage(), lease.toMillis());
            }
        }
    }

    @Override
    public String owner() {
        return owner;
    }

    @Override
    public void close() {
        closed = true;
        renewer.shutdownNow();
        try (Connection c = dataSource.getConnection();
             PreparedStatement ps = c.prepareStatement("DELETE FROM relay_claim WHERE owner = ?")) {
            ps.setString(1, owner);
            int left = ps.executeUpdate();
            if (left > 0) {
                LOG.info("released {} claim(s) of deliveries this instance did not finish", left);
            }
        } catch (SQLException | RuntimeException e) {
            LOG.warn("cannot release this instance's claims in {}: {}; they end with their lease ({} ms)",
                    description, e.getMessage(), lease.toMillis());
        }
        closePool();
    }

    /** What a killed process leaves: renewals stop, nothing is released. For tests of takeovers. */
    void abandon() {
        closed = true;
        renewer.shutdownNow();
        closePool();
    }

    private void closePool() {
        try {
            pool.close();
        } catch (Exception e) {
            LOG.warn("closing the claims' connections to {} failed: {}", description, e.getMessage());
        }
    }
}
