package dev.r2relay.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.state.ObjectClaims.Claim;
import dev.r2relay.state.ObjectClaims.Result;
import dev.r2relay.support.PostgresSchema;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Claims in a shared PostgreSQL ledger, each "instance" a ledger of its own (its own connection
 * pool), as separate processes would have. Camel's JdbcOrphanLockAwareIdempotentRepository (4.18.0)
 * can let two instances take over the same orphaned lock; these tests show that ours cannot.
 */
class LeasedClaimsTest {

    private static final Duration LEASE = Duration.ofMillis(1500);

    private PostgresSchema schema;
    private final List<AutoCloseable> open = new ArrayList<>();

    @BeforeEach
    void createSchema() {
        schema = PostgresSchema.create();
    }

    @AfterEach
    void dropSchema() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
        schema.close();
    }

    @Test
    void instancesRacingForOrphanedClaimsNeverBothTakeOneOver() throws Exception {
        int instances = 8;
        int keys = 150;
        List<ObjectClaims> claims = new ArrayList<>();
        for (int i = 0; i < instances; i++) {
            claims.add(instance("racer-" + i, LEASE));
        }
        // a dead instance's claims, their leases over: every one is up for takeover at once
        try (Connection c = schema.connect(); PreparedStatement ps = c.prepareStatement(
                "INSERT INTO relay_claim (bucket, object_key, etag, owner, claimed_at, expires_at)"
                        + " VALUES ('b', ?, 'e', 'dead', now() - interval '1 minute', now() - interval '1 second')")) {
            for (int k = 0; k < keys; k++) {
                ps.setString(1, "k" + k);
                ps.addBatch();
            }
            ps.executeBatch();
        }
        CyclicBarrier together = new CyclicBarrier(instances);
        Map<String, List<String>> winners = new ConcurrentHashMap<>();
        List<Claim> outcomes = new CopyOnWriteArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(instances);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (ObjectClaims instance : claims) {
                done.add(pool.submit(() -> {
                    for (int k = 0; k < keys; k++) {
                        together.await(); // all instances ask for the same key at the same moment
                        Claim claim = instance.claim("b", "k" + k, "e");
                        outcomes.add(claim);
                        if (claim.won()) {
                            winners.computeIfAbsent("k" + k, x -> new CopyOnWriteArrayList<>()).add(instance.owner());
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(winners).hasSize(keys);
        assertThat(winners.values()).allSatisfy(w -> assertThat(w).as("instances that took the key over").hasSize(1));
        assertThat(outcomes).filteredOn(Claim::won)
                .allSatisfy(c -> assertThat(c).isEqualTo(new Claim(Result.TAKEN_OVER, "dead")));
        assertThat(outcomes).filteredOn(c -> !c.won()).hasSize(keys * (instances - 1))
                .allSatisfy(c -> assertThat(c.otherOwner()).startsWith("racer-"));
    }

    @Test
    void aLiveInstanceKeepsItsClaimPastTheLeaseAndLosesItOnlyOnceItStopsRenewing() throws Exception {
        DeliveryLedger aLedger = DeliveryLedger.open(schema.url(), PostgresSchema.USER, null);
        ObjectClaims a = aLedger.claims("a", LEASE);
        ObjectClaims b = instance("b", LEASE);
        assertThat(a.claim("b1", "video.mp4", "e1")).isEqualTo(new Claim(Result.CLAIMED, null));

        // renewed at a third of the lease, it outlives the lease twice over
        await().during(LEASE.multipliedBy(2)).atMost(LEASE.multipliedBy(3))
                .until(() -> b.claim("b1", "video.mp4", "e1").equals(new Claim(Result.HELD, "a")));

        // "a" is killed: its renewals stop, its claim is left behind
        long died = System.nanoTime();
        ((LeasedClaims) a).abandon();
        aLedger.close();
        await().atMost(LEASE.multipliedBy(3)).pollInterval(Duration.ofMillis(50))
                .until(() -> b.claim("b1", "video.mp4", "e1").equals(new Claim(Result.TAKEN_OVER, "a")));
        Duration untilTakeover = Duration.ofNanos(System.nanoTime() - died);
        // renewed at most a third of a lease before it died, the claim lived at least two thirds more
        assertThat(untilTakeover).isGreaterThanOrEqualTo(LEASE.multipliedBy(2).dividedBy(3));
    }

    @Test
    void aReleasedClaimIsFreeAtOnceAndAStaleReleaseLeavesTheNewHolderAlone() throws Exception {
        DeliveryLedger aLedger = DeliveryLedger.open(schema.url(), PostgresSchema.USER, null);
        ObjectClaims a = aLedger.claims("a", LEASE);
        ObjectClaims b = instance("b", LEASE);
        ObjectClaims c = instance("c", LEASE);

        assertThat(a.claim("b1", "x", "e").won()).isTrue();
        a.release("b1", "x");
        assertThat(b.claim("b1", "x", "e")).isEqualTo(new Claim(Result.CLAIMED, null));

        // "b" stalls (no renewals: its row is aged by hand) and "c" takes over; b's late release must not free c's claim
        try (Connection conn = schema.connect(); PreparedStatement ps = conn.prepareStatement(
                "UPDATE relay_claim SET expires_at = now() - interval '1 second' WHERE owner = 'b'")) {
            ps.executeUpdate();
        }
        assertThat(c.claim("b1", "x", "e")).isEqualTo(new Claim(Result.TAKEN_OVER, "b"));
        b.release("b1", "x");
        assertThat(a.claim("b1", "x", "e")).isEqualTo(new Claim(Result.HELD, "c"));
        a.close();
        aLedger.close();
    }

    @Test
    void anInstanceClaimingAgainWhatItsOwnLapsedLeaseHeldTakesNothingOver() throws Exception {
        ObjectClaims b = instance("b", LEASE);
        assertThat(b.claim("b1", "x", "e")).isEqualTo(new Claim(Result.CLAIMED, null));
        try (Connection conn = schema.connect(); PreparedStatement ps = conn.prepareStatement(
                "UPDATE relay_claim SET expires_at = now() - interval '1 second' WHERE owner = 'b'")) {
            ps.executeUpdate();
        }
        assertThat(b.claim("b1", "x", "e")).isEqualTo(new Claim(Result.CLAIMED, null));
    }

    @Test
    void aCleanStopReleasesEveryClaimTheInstanceStillHolds() throws Exception {
        DeliveryLedger aLedger = DeliveryLedger.open(schema.url(), PostgresSchema.USER, null);
        ObjectClaims a = aLedger.claims("a", Duration.ofMinutes(10));
        ObjectClaims b = instance("b", LEASE);
        for (int i = 0; i < 5; i++) {
            assertThat(a.claim("b1", "k" + i, "e").won()).isTrue();
        }
        a.close();
        aLedger.close();
        for (int i = 0; i < 5; i++) {
            assertThat(b.claim("b1", "k" + i, "e")).isEqualTo(new Claim(Result.CLAIMED, null));
        }
    }

    /** An instance: a ledger with its own pool, and its claims; both closed after the test. */
    private ObjectClaims instance(String owner, Duration lease) {
        DeliveryLedger ledger = DeliveryLedger.open(schema.url(), PostgresSchema.USER, null);
        open.add(ledger);
        ObjectClaims claims = ledger.claims(owner, lease);
        open.add(claims);
        return claims;
    }
}
