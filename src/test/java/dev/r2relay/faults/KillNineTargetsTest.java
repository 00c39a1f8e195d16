package dev.r2relay.faults;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.jms.JmsTesting;
import dev.r2relay.jms.JmsTesting.Received;
import dev.r2relay.state.DeliveryLedger;
import dev.r2relay.support.HttpSink;
import dev.r2relay.support.RamTempDirs;
import dev.r2relay.support.RelayProcess;
import dev.r2relay.support.RelayProcess.Result;
import dev.r2relay.support.S3Clients;
import dev.r2relay.support.S3ProxyServer;
import dev.r2relay.support.TestObjects;
import jakarta.jms.Connection;
import jakarta.jms.JMSException;
import jakarta.jms.Message;
import jakarta.jms.MessageConsumer;
import jakarta.jms.Session;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * {@code kill -9} of the application (a child JVM) while it sends objects to a JMS queue (the
 * embedded broker, which dies with it) and to an HTTP endpoint, then a restart. What the README
 * promises: a JMS consumer that commits what it takes gets each object exactly once (the resend
 * after a crash carries the same {@code _AMQ_DUPL_ID} and the broker drops it); an HTTP endpoint
 * gets each object, and one that took a body whose 2xx never reached r2-relay gets it once more,
 * with the same {@code R2RelayIdentity} and bytes.
 */
class KillNineTargetsTest {

    private static final Duration LIMIT = Duration.ofSeconds(120);
    private static S3ProxyServer server;
    private static S3Client s3;

    @TempDir(factory = RamTempDirs.class)
    Path work;
    private String bucket;
    private final Map<String, byte[]> objects = new TreeMap<>();

    @BeforeAll
    static void startServer() {
        server = new S3ProxyServer();
        s3 = S3Clients.of(server);
    }

    @AfterAll
    static void stopServer() {
        s3.close();
        server.close();
    }

    @BeforeEach
    void createBucket() throws IOException {
        bucket = "kill-" + Integer.toString(ThreadLocalRandom.current().nextInt(1 << 30), 36);
        server.createBucket(bucket);
        RelayProcess.copyShippedRoutes(work.resolve("app/routes"));
    }

    @Test
    void aCommittingJmsConsumerGetsEachObjectExactlyOnceAcrossKillsOfTheAppAndItsBroker() throws Exception {
        Random random = new Random(9);
        for (int i = 0; i < 300; i++) {
            put(String.format("jms/%03d.bin", i), 1024 + random.nextInt(8 * 1024), 2000 + i);
        }
        int port = HttpSink.freePort();
        Map<String, String> env = env();
        env.put("RELAY_TARGET", "jms");
        env.put("RELAY_JMS_PORT", Integer.toString(port));
        int duplicatesDropped = 0;
        int kills = 0;
        try (Consumer consumer = new Consumer("tcp://127.0.0.1:" + port)) {
            // three kills at random moments; the exact crash window between the broker's accept and
            // the ledger's record is reproduced deterministically by the next test
            for (; kills < 3; kills++) {
                int target = consumer.settledKeys().size() + 10 + random.nextInt(40);
                try (RelayProcess app = start(env)) {
                    app.awaitWhileAlive(target + " messages consumed", LIMIT, () ->
                            consumer.settledKeys().size() >= target || consumer.settledKeys().size() == objects.size());
                    app.kill();
                    duplicatesDropped += count(app.stderrSoFar(), "AMQ222059");
                }
            }
            Result last = RelayProcess.in(work.resolve("app")).env(env).run(LIMIT, "run", "--once");
            assertThat(last.exitCode()).as(last.toString()).isZero();
            duplicatesDropped += count(last.stderr(), "AMQ222059");
            assertLedgerComplete();
            // everything is sent and recorded: the broker, up again without polling, hands out the rest
            env.put("RELAY_POLL_ENABLED", "false");
            try (RelayProcess broker = start(env)) {
                broker.awaitWhileAlive("every object consumed", LIMIT,
                        () -> consumer.settledKeys().size() == objects.size());
                int takenNow = consumer.taken().size();
                await("no message more").during(Duration.ofSeconds(1)).atMost(LIMIT)
                        .until(() -> consumer.taken().size() == takenNow);
                Result stopped = broker.stop(LIMIT);
                assertThat(stopped.exitCode()).as(stopped.toString()).isZero();
            }
            System.out.printf("%d kill(s); the broker dropped %d resent message(s)%n", kills, duplicatesDropped);

            Map<String, List<Taken>> byKey = new TreeMap<>();
            for (Taken t : consumer.taken()) {
                byKey.computeIfAbsent(t.message().key(), k -> new ArrayList<>()).add(t);
            }
            assertThat(byKey.keySet()).isEqualTo(objects.keySet());
            for (Map.Entry<String, List<Taken>> e : byKey.entrySet()) {
                String identity = bucket + "/" + e.getKey() + "@" + TestObjects.md5(objects.get(e.getKey()));
                List<Taken> copies = e.getValue();
                long committed = copies.stream().filter(t -> t.commit() == Commit.DONE).count();
                long unknown = copies.stream().filter(t -> t.commit() == Commit.UNKNOWN).count();
                // a commit that failed with the broker may have gone through or not: only then may a copy follow
                assertThat(committed).as("committed copies of %s", e.getKey()).isLessThanOrEqualTo(1);
                assertThat(copies).as("copies of %s", e.getKey()).hasSizeLessThanOrEqualTo((int) (1 + unknown));
                for (Taken t : e.getValue()) {
                    assertThat(t.message().properties()).containsEntry("R2RelayIdentity", identity)
                            .containsEntry("_AMQ_DUPL_ID", identity);
                    assertThat(TestObjects.sha256(t.message().body())).isEqualTo(TestObjects.sha256(objects.get(
                            e.getKey())));
                }
            }
        }
        assertLedgerComplete();
    }

    @Test
    void aMessageTheBrokerTookBeforeAKillButTheLedgerMissesIsResentAndDroppedAsADuplicate() throws Exception {
        for (String key : List.of("a.txt", "b.txt", "c.txt")) {
            put(key, 100, key.hashCode());
        }
        int port = HttpSink.freePort();
        Map<String, String> env = env();
        env.put("RELAY_TARGET", "jms");
        env.put("RELAY_JMS_PORT", Integer.toString(port));
        try (RelayProcess app = start(env)) {
            app.awaitWhileAlive("three deliveries", LIMIT,
                    () -> count(app.stderrSoFar(), "d.r.delivered - delivered") == 3);
            app.kill();
        }
        // the state a kill between the broker's accept and the ledger's record leaves: the broker
        // holds b.txt's message (in the journal of a process killed with -9), the ledger does not
        forget("b.txt");

        try (Consumer consumer = new Consumer("tcp://127.0.0.1:" + port); RelayProcess app = start(env)) {
            app.awaitWhileAlive("b.txt sent again", LIMIT, () -> app.stderrSoFar().contains("delivered bucket=" + bucket
                    + " key=b.txt "));
            app.awaitWhileAlive("every object consumed", LIMIT, () -> consumer.settledKeys().size() == 3);
            await("no message more").during(Duration.ofSeconds(1)).atMost(LIMIT)
                    .until(() -> consumer.taken().size() == 3);
            Result r = app.stop(LIMIT);
            assertThat(r.exitCode()).as(r.toString()).isZero();
            assertThat(r.stderr()).contains("AMQ222059").doesNotContain("key=a.txt ").doesNotContain("key=c.txt ");
            assertThat(consumer.taken()).extracting(t -> t.message().key())
                    .containsExactlyInAnyOrder("a.txt", "b.txt", "c.txt");
        }
        assertLedgerComplete();
    }

    @Test
    void anHttpEndpointThatTookABodyWhenTheAppDiedGetsItOnceMoreWithTheSameIdentity() throws Exception {
        for (int i = 0; i < 120; i++) {
            put(String.format("http/%03d.bin", i), 2048 + 97 * i, 3000 + i);
        }
        AtomicReference<RelayProcess> running = new AtomicReference<>();
        AtomicReference<String> heldWhenKilled = new AtomicReference<>();
        AtomicInteger seen = new AtomicInteger();
        int killAt = 40;
        try (HttpSink sink = new HttpSink()) {
            // the 40th body is read whole, then the app dies before the endpoint answers it
            sink.whenReceived(r -> {
                if (seen.incrementAndGet() == killAt) {
                    heldWhenKilled.set(r.header("R2RelayKey"));
                    running.get().kill();
                }
            });
            Map<String, String> env = env();
            env.put("RELAY_TARGET", "http");
            env.put("RELAY_HTTP_URL", sink.url("/in/{key}"));
            Map<String, String> recordedAtKill;
            int receivedAtKill;
            try (RelayProcess app = start(env)) {
                running.set(app);
                await("the kill").atMost(LIMIT).until(() -> !app.isAlive());
                receivedAtKill = sink.received().size();
                recordedAtKill = ledger();
            }
            assertThat(heldWhenKilled.get()).isNotNull();
            assertThat(recordedAtKill).doesNotContainKey(heldWhenKilled.get());

            Result last = RelayProcess.in(work.resolve("app")).env(env).run(LIMIT, "run", "--once");
            assertThat(last.exitCode()).as(last.toString()).isZero();

            Map<String, List<HttpSink.Received>> byKey = new TreeMap<>();
            for (HttpSink.Received r : sink.received()) {
                byKey.computeIfAbsent(r.header("R2RelayKey"), k -> new ArrayList<>()).add(r);
            }
            assertThat(byKey.keySet()).isEqualTo(objects.keySet());
            for (Map.Entry<String, List<HttpSink.Received>> e : byKey.entrySet()) {
                byte[] data = objects.get(e.getKey());
                String identity = bucket + "/" + e.getKey() + "@" + TestObjects.md5(data);
                for (HttpSink.Received r : e.getValue()) {
                    assertThat(r.sha256()).as("bytes of %s", e.getKey()).isEqualTo(TestObjects.sha256(data));
                    assertThat(r.header("R2RelayIdentity")).isEqualTo(identity);
                }
                int expected = recordedAtKill.containsKey(e.getKey()) || !receivedBefore(sink, e.getKey(),
                        receivedAtKill) ? 1 : 2;
                assertThat(e.getValue()).as("requests with %s", e.getKey()).hasSize(expected);
            }
            assertThat(byKey.get(heldWhenKilled.get())).as("the body the endpoint held at the kill, sent again")
                    .hasSize(2);
        }
        assertLedgerComplete();
    }

    // --- helpers ------------------------------------------------------------------------------

    /** Whether the endpoint had received {@code key} among its first {@code count} requests. */
    private static boolean receivedBefore(HttpSink sink, String key, int count) {
        return sink.received().subList(0, count).stream().anyMatch(r -> key.equals(r.header("R2RelayKey")));
    }

    /** How a consumer's commit ended: done, or failed with the broker going away (done there or not). */
    enum Commit { DONE, UNKNOWN }

    /** One message the consumer took, and how its commit ended. */
    record Taken(Received message, Commit commit) {
    }

    /**
     * A JMS consumer in a transacted session: each message is committed on its own, so a committed
     * one is never delivered again. It reconnects while the broker is down (killed with the app).
     */
    private static final class Consumer implements AutoCloseable {
        private final String url;
        private final List<Taken> taken = new CopyOnWriteArrayList<>();
        private final Thread thread;
        private volatile boolean stopped;

        Consumer(String url) {
            this.url = url;
            this.thread = new Thread(this::run, "test-consumer");
            thread.setDaemon(true);
            thread.start();
        }

        List<Taken> taken() {
            return List.copyOf(taken);
        }

        /** Keys taken with a commit that went through, or that may have. */
        Set<String> settledKeys() {
            Set<String> keys = new HashSet<>();
            for (Taken t : taken) {
                keys.add(t.message().key());
            }
            return keys;
        }

        private void run() {
            while (!stopped) {
                try (Connection connection = JmsTesting.core(url + "?reconnectAttempts=0").createConnection()) {
                    connection.start();
                    Session session = connection.createSession(true, Session.SESSION_TRANSACTED);
                    MessageConsumer consumer = session.createConsumer(session.createQueue(JmsTesting.QUEUE));
                    while (!stopped) {
                        Message m = consumer.receive(200);
                        if (m == null) {
                            continue;
                        }
                        Received r = JmsTesting.read(m);
                        Commit commit;
                        try {
                            session.commit();
                            commit = Commit.DONE;
                        } catch (JMSException e) {
                            commit = Commit.UNKNOWN;
                        }
                        taken.add(new Taken(r, commit));
                        if (commit == Commit.UNKNOWN) {
                            break;
                        }
                    }
                } catch (JMSException e) {
                    // the broker is down (killed with the app): try again shortly
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException interrupted) {
                        return;
                    }
                }
            }
        }

        @Override
        public void close() throws InterruptedException {
            stopped = true;
            thread.join(5000);
        }
    }

    private void assertLedgerComplete() {
        Map<String, String> ledger = ledger();
        Map<String, String> expected = new TreeMap<>();
        objects.forEach((k, v) -> expected.put(k, TestObjects.md5(v)));
        assertThat(ledger).isEqualTo(expected);
    }

    /** Removes a key from the ledger of a dead app, as if it had died before recording it. */
    private void forget(String key) throws Exception {
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:h2:file:"
                + work.resolve("state").resolve("ledger"), "relay", "");
             java.sql.PreparedStatement ps = c.prepareStatement("DELETE FROM relay_ledger WHERE object_key = ?")) {
            ps.setString(1, key);
            assertThat(ps.executeUpdate()).isEqualTo(1);
        }
    }

    private Map<String, String> ledger() {
        Map<String, String> entries = new TreeMap<>();
        try (DeliveryLedger l = DeliveryLedger.open(work.resolve("state").toString())) {
            for (String key : objects.keySet()) {
                String etag = l.recordedEtag(bucket, key);
                if (etag != null) {
                    entries.put(key, etag);
                }
            }
        }
        return entries;
    }

    private Map<String, String> env() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("R2_ENDPOINT", server.endpoint().toString());
        env.put("R2_ACCESS_KEY", S3ProxyServer.ACCESS_KEY);
        env.put("R2_SECRET_KEY", S3ProxyServer.SECRET_KEY);
        env.put("R2_BUCKET", bucket);
        env.put("RELAY_INBOX", work.resolve("inbox").toString());
        env.put("RELAY_STATE", work.resolve("state").toString());
        env.put("RELAY_POLL_INTERVAL", "200");
        env.put("CAMEL_MAIN_DURATIONMAXSECONDS", "100");
        return env;
    }

    private RelayProcess start(Map<String, String> env) {
        return RelayProcess.in(work.resolve("app")).env(env).start("run");
    }


    private static int count(String text, String word) {
        int n = 0;
        for (int i = text.indexOf(word); i >= 0; i = text.indexOf(word, i + 1)) {
            n++;
        }
        return n;
    }

    private void put(String key, int size, long seed) {
        byte[] data = FaultInjectionTest.random(size, seed);
        s3.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromBytes(data));
        objects.put(key, data);
    }
}
