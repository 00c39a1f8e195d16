package dev.r2relay.faults;

import static dev.r2relay.support.FaultProxy.anyGet;
import static dev.r2relay.support.RelayProcess.deliveredKeys;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.support.FaultProxy;
import dev.r2relay.support.FaultProxy.Fault;
import dev.r2relay.support.InboxWatcher;
import dev.r2relay.support.PostgresSchema;
import dev.r2relay.support.RamTempDirs;
import dev.r2relay.support.RelayProcess;
import dev.r2relay.support.RelayProcess.Result;
import dev.r2relay.support.S3Clients;
import dev.r2relay.support.S3ProxyServer;
import dev.r2relay.support.TestObjects;
import java.net.URI;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Three instances (child JVMs) on one bucket, one inbox and one PostgreSQL ledger. One of them is
 * killed with SIGKILL while it holds claims on objects whose bodies it is reading; the other two
 * deliver everything else meanwhile and, once the dead instance's leases run out, take its
 * objects over. Every object ends up delivered exactly once between them, byte-identical, and no
 * file is ever partial under its final name.
 */
class SharedLedgerKillNineTest {

    private static final int OBJECTS = 5_000;
    private static final int CONCURRENCY = 8;
    private static final Duration LEASE = Duration.ofSeconds(3);
    private static final Duration LIMIT = Duration.ofMinutes(4);
    /** Log lines carry milliseconds, truncated. */
    private static final long LOG_TIME_RESOLUTION_MS = 1;
    private static final Pattern INSTANCE = Pattern.compile("Shared ledger: this instance is (\\S+);");
    private static final Pattern TAKEN_OVER =
            Pattern.compile("(?m)^(\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) .*took over \\S+?/(\\S+) from instance (\\S+),");

    @TempDir(factory = RamTempDirs.class)
    Path work;
    private PostgresSchema schema;
    private S3ProxyServer server;
    private FaultProxy victimsProxy;
    private final String bucket = "scale-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 30), 36);
    private final Map<String, byte[]> objects = new TreeMap<>();

    @BeforeEach
    void start() throws Exception {
        schema = PostgresSchema.create();
        server = new S3ProxyServer();
        server.createBucket(bucket);
        victimsProxy = new FaultProxy(server.endpoint());
        RelayProcess.copyShippedRoutes(work.resolve("app/routes"));
        fill();
    }

    @AfterEach
    void stop() throws Exception {
        victimsProxy.close();
        server.close();
        schema.close();
    }

    @Test
    void oneOfThreeInstancesKilledMidRunTheOthersTakeOverItsClaimsAndDeliverEveryObjectOnce() throws Exception {
        Map<String, Set<String>> allowed = new HashMap<>();
        objects.forEach((k, v) -> allowed.put(k, Set.of(TestObjects.sha256(v))));
        try (InboxWatcher inbox = InboxWatcher.start(work.resolve("inbox"), allowed::get);
             RelayProcess victim = instance("a", victimsProxy.endpoint());
             RelayProcess b = instance("b", server.endpoint());
             RelayProcess c = instance("c", server.endpoint())) {
            // once the victim is well under way, every body it reads stalls: its slots fill with claims it holds
            victim.awaitWhileAlive("the victim delivered 300 objects", LIMIT,
                    () -> deliveredKeys(victim.stderrSoFar()).size() >= 300);
            victimsProxy.injectAlways(anyGet(), Fault.stallAfter(512));
            victim.awaitWhileAlive("all " + CONCURRENCY + " of the victim's deliveries stalled mid-body", LIMIT,
                    () -> victimsProxy.stalledNow() == CONCURRENCY);
            String victimId = instanceId(victim.stderrSoFar());
            Set<String> held = claimsHeldBy(victimId);
            LocalTime killedAt = LocalTime.now();
            victim.kill();
            long killed = System.nanoTime();
            String victimOutput = victim.stderrSoFar();
            assertThat(held).as("claims the victim held when it was killed").hasSize(CONCURRENCY);
            assertThat(deliveredKeys(victimOutput).keySet()).as("objects the victim delivered")
                    .doesNotContainAnyElementsOf(held);

            await("every object delivered").atMost(LIMIT).pollInterval(Duration.ofMillis(250))
                    .until(() -> count("SELECT COUNT(*) FROM relay_ledger WHERE outcome = 'DELIVERED'") == OBJECTS);
            Duration afterKill = Duration.ofNanos(System.nanoTime() - killed);
            Result bOut = b.stop(Duration.ofSeconds(60));
            Result cOut = c.stop(Duration.ofSeconds(60));
            assertThat(bOut.exitCode()).as(bOut.toString()).isZero();
            assertThat(cOut.exitCode()).as(cOut.toString()).isZero();

            // the dead instance's objects were taken over, each once, after its leases ran out
            Map<String, String> takenOver = new TreeMap<>();
            // renewed at most a third of a lease before the kill, its claims lived at least two thirds more
            Duration earliest = LEASE.multipliedBy(2).dividedBy(3).minusMillis(LOG_TIME_RESOLUTION_MS);
            for (String out : List.of(bOut.stderr(), cOut.stderr())) {
                Matcher m = TAKEN_OVER.matcher(out);
                while (m.find()) {
                    assertThat(takenOver.put(m.group(2), m.group(3))).as("takeovers of %s", m.group(2)).isNull();
                    assertThat(sinceKill(killedAt, LocalTime.parse(m.group(1))))
                            .as("time from the kill to the takeover of %s", m.group(2))
                            .isGreaterThanOrEqualTo(earliest);
                }
            }
            assertThat(takenOver.keySet()).isEqualTo(held);
            assertThat(Set.copyOf(takenOver.values())).containsExactly(victimId);

            // exactly once: one delivery line per object across the three, one ledger row each, every file whole
            Map<String, Integer> deliveries = new TreeMap<>();
            for (String out : List.of(victimOutput, bOut.stderr(), cOut.stderr())) {
                deliveredKeys(out).forEach((k, n) -> deliveries.merge(k, n, Integer::sum));
            }
            assertThat(deliveries.keySet()).isEqualTo(objects.keySet());
            assertThat(deliveries.values()).as("deliveries per object").allMatch(n -> n == 1);
            Map<String, Integer> byB = deliveredKeys(bOut.stderr());
            Map<String, Integer> byC = deliveredKeys(cOut.stderr());
            System.out.printf("deliveries: a=%d b=%d c=%d; %d taken over from %s; all delivered %d ms after the"
                    + " kill%n", deliveredKeys(victimOutput).size(), byB.size(), byC.size(), takenOver.size(),
                    victimId, afterKill.toMillis());
            assertThat(byB).as("b's share").isNotEmpty();
            assertThat(byC).as("c's share").isNotEmpty();
            assertLedgerHoldsEveryObjectAtItsEtag();
            assertThat(count("SELECT COUNT(*) FROM relay_claim")).as("claims left after the survivors stopped").isZero();
            inbox.sweep();
            assertThat(inbox.violations()).as("partial or wrong files under final names").isEmpty();
            for (Map.Entry<String, byte[]> e : objects.entrySet()) {
                assertThat(work.resolve("inbox").resolve(e.getKey())).as("file of %s", e.getKey())
                        .hasBinaryContent(e.getValue());
            }
            List<Path> finals = InboxWatcher.filesUnder(work.resolve("inbox")).stream()
                    .filter(p -> !p.getFileName().toString().startsWith(".")).toList();
            assertThat(finals).hasSize(OBJECTS);
        }
    }

    /** From the kill to a log line's time of day (the logs carry no date; a run may pass midnight). */
    private static Duration sinceKill(LocalTime killedAt, LocalTime logged) {
        Duration d = Duration.between(killedAt, logged);
        return d.compareTo(Duration.ofHours(-12)) < 0 ? d.plusDays(1) : d;
    }

    private RelayProcess instance(String name, URI endpoint) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("R2_ENDPOINT", endpoint.toString());
        env.put("R2_ACCESS_KEY", S3ProxyServer.ACCESS_KEY);
        env.put("R2_SECRET_KEY", S3ProxyServer.SECRET_KEY);
        env.put("R2_BUCKET", bucket);
        env.put("RELAY_INBOX", work.resolve("inbox").toString());
        env.put("RELAY_STATE", schema.url());
        env.put("RELAY_STATE_USERNAME", PostgresSchema.USER);
        env.put("RELAY_LOCAL_STATE", work.resolve("local-" + name).toString());
        env.put("RELAY_INSTANCE_NAME", name);
        env.put("RELAY_CLAIM_LEASE", Long.toString(LEASE.toMillis()));
        env.put("RELAY_CONCURRENCY", Integer.toString(CONCURRENCY));
        env.put("RELAY_POLL_INTERVAL", "500");
        env.put("CAMEL_MAIN_DURATIONMAXSECONDS", Long.toString(LIMIT.toSeconds()));
        return RelayProcess.in(work.resolve("app")).env(env).start("run");
    }

    /** 5,000 objects of 1 to 6 KiB under a few prefixes, uploaded by 8 threads. */
    private void fill() throws Exception {
        Random random = new Random(42);
        for (int i = 0; i < OBJECTS; i++) {
            objects.put(String.format("day-%d/part-%05d.bin", i % 5, i), FaultInjectionTest.random(1024
                    + random.nextInt(5 * 1024), 7_000 + i));
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try (S3Client s3 = S3Clients.of(server)) {
            List<Future<?>> puts = new ArrayList<>();
            for (Map.Entry<String, byte[]> e : objects.entrySet()) {
                puts.add(pool.submit(() -> s3.putObject(p -> p.bucket(bucket).key(e.getKey()),
                        RequestBody.fromBytes(e.getValue()))));
            }
            for (Future<?> f : puts) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
    }

    private Set<String> claimsHeldBy(String owner) throws Exception {
        Set<String> keys = new TreeSet<>();
        try (Connection c = schema.connect(); var ps = c.prepareStatement(
                "SELECT object_key FROM relay_claim WHERE owner = ?")) {
            ps.setString(1, owner);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    keys.add(rs.getString(1));
                }
            }
        }
        return keys;
    }

    private void assertLedgerHoldsEveryObjectAtItsEtag() throws Exception {
        Map<String, String> ledger = new HashMap<>();
        try (Connection c = schema.connect(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT object_key, etag, outcome FROM relay_ledger")) {
            while (rs.next()) {
                assertThat(rs.getString(3)).isEqualTo("DELIVERED");
                ledger.put(rs.getString(1), rs.getString(2));
            }
        }
        assertThat(ledger).hasSize(OBJECTS);
        objects.forEach((k, v) -> assertThat(ledger.get(k)).as("ETag of %s", k).isEqualTo(TestObjects.md5(v)));
    }

    private long count(String sql) throws Exception {
        return schema.queryLong(sql);
    }

    private static String instanceId(String output) {
        Matcher m = INSTANCE.matcher(output);
        assertThat(m.find()).as("the instance's start-up line naming it").isTrue();
        return m.group(1);
    }


}
