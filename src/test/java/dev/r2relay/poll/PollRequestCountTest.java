package dev.r2relay.poll;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.support.RelayApp;
import dev.r2relay.support.S3ProxyServer;
import dev.r2relay.support.TestClients;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.support.EventNotifierSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * What a poll costs in requests, counted by the server between the completions of two polls.
 */
class PollRequestCountTest {

    private static final int OBJECTS = 1_100;
    private static S3ProxyServer server;
    private static S3Client s3;

    @TempDir
    Path work;

    @BeforeAll
    static void fill() throws Exception {
        server = new S3ProxyServer();
        s3 = TestClients.s3(server);
        for (String bucket : new String[] {"count-full", "count-incremental"}) {
            server.createBucket(bucket);
            ExecutorService pool = Executors.newFixedThreadPool(8);
            for (int i = 0; i < OBJECTS; i++) {
                String key = String.format("2024/08/%02d/part-%05d.json", 1 + i / 500, i);
                pool.submit(() -> s3.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromString(key)));
            }
            pool.shutdown();
            assertThat(pool.awaitTermination(2, TimeUnit.MINUTES)).isTrue();
        }
    }

    @AfterAll
    static void stop() {
        s3.close();
        server.close();
    }

    @Test
    void aPollOfAnUnchangedBucketCostsOneListPerThousandObjectsAndNoGet() throws Exception {
        try (RelayApp app = RelayApp.start(RelayApp.settingsFor(server, "count-full", work))) {
            PollCosts costs = PollCosts.watch(app, server, "count-full");
            awaitAllDelivered(app);
            long[] poll = costs.nextPoll();
            assertThat(poll[0]).as("list requests").isEqualTo((OBJECTS + 999) / 1000);
            assertThat(poll[1]).as("GET requests").isZero();
        }
    }

    @Test
    void anIncrementalPollOfAnUnchangedBucketCostsOneList() throws Exception {
        Map<String, String> settings = RelayApp.settingsFor(server, "count-incremental", work);
        settings.put("relay.incremental", "true");
        try (RelayApp app = RelayApp.start(settings)) {
            PollCosts costs = PollCosts.watch(app, server, "count-incremental");
            awaitAllDelivered(app);
            costs.nextPoll(); // may list the objects queued by the first poll once more; the cursor then moves
            long[] poll = costs.nextPoll();
            assertThat(poll[0]).as("list requests").isEqualTo(1);
            assertThat(poll[1]).as("GET requests").isZero();

            s3.putObject(b -> b.bucket("count-incremental").key("2024/08/09/new.json"), RequestBody.fromString("new"));
            await().atMost(Duration.ofSeconds(30)).until(() -> work.resolve("inbox/2024/08/09/new.json").toFile().exists());
        }
    }

    private void awaitAllDelivered(RelayApp app) {
        await().atMost(Duration.ofMinutes(2)).until(() -> app.ledger().count() == OBJECTS);
        await().atMost(Duration.ofSeconds(30)).until(() -> app.camel().getRegistry()
                .lookupByNameAndType("inFlight", InFlight.class).size() == 0);
    }

    /**
     * Server-side request counts taken as each poll exchange completes, in the poll's own thread,
     * so that consecutive snapshots bound exactly one poll (polls never overlap).
     */
    private static final class PollCosts extends EventNotifierSupport {
        private final S3ProxyServer server;
        private final String bucket;
        private final BlockingQueue<long[]> snapshots = new LinkedBlockingQueue<>();

        private PollCosts(S3ProxyServer server, String bucket) {
            this.server = server;
            this.bucket = bucket;
        }

        static PollCosts watch(RelayApp app, S3ProxyServer server, String bucket) throws Exception {
            PollCosts costs = new PollCosts(server, bucket);
            app.camel().getManagementStrategy().addEventNotifier(costs);
            costs.start();
            return costs;
        }

        @Override
        public void notify(CamelEvent event) {
            if (event instanceof CamelEvent.ExchangeCompletedEvent done
                    && "poll-bucket".equals(done.getExchange().getFromRouteId())) {
                snapshots.add(new long[] {server.listCount(bucket), server.getCount(bucket)});
            }
        }

        /** The list and GET requests of the next whole poll from now. */
        long[] nextPoll() throws InterruptedException {
            snapshots.clear();
            long[] before = snapshots.poll(60, TimeUnit.SECONDS);
            long[] after = snapshots.poll(60, TimeUnit.SECONDS);
            assertThat(before).as("a poll completed").isNotNull();
            assertThat(after).as("the next poll completed").isNotNull();
            return new long[] {after[0] - before[0], after[1] - before[1]};
        }
    }
}
