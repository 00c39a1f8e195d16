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
import org.apache.camel.builder.NotifyBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * What a poll costs in requests, counted by the server: polls are started one at a time by
 * restarting the poll route, whose timer fires at once and then not again for an hour.
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
        try (RelayApp app = RelayApp.start(settings("count-full"))) {
            awaitAllDelivered(app, "count-full");
            long lists = server.listCount("count-full");
            long gets = server.getCount("count-full");
            pollOnce(app);
            assertThat(server.listCount("count-full") - lists).isEqualTo((OBJECTS + 999) / 1000);
            assertThat(server.getCount("count-full") - gets).isZero();
        }
    }

    @Test
    void anIncrementalPollOfAnUnchangedBucketCostsOneList() throws Exception {
        Map<String, String> settings = settings("count-incremental");
        settings.put("relay.incremental", "true");
        try (RelayApp app = RelayApp.start(settings)) {
            awaitAllDelivered(app, "count-incremental");
            pollOnce(app); // lists the objects queued by the first poll once more, now settled: the cursor moves
            long lists = server.listCount("count-incremental");
            long gets = server.getCount("count-incremental");
            pollOnce(app);
            assertThat(server.listCount("count-incremental") - lists).isEqualTo(1);
            assertThat(server.getCount("count-incremental") - gets).isZero();

            s3.putObject(b -> b.bucket("count-incremental").key("2024/08/09/new.json"), RequestBody.fromString("new"));
            pollOnce(app);
            await().atMost(Duration.ofSeconds(30)).until(() -> work.resolve("inbox/2024/08/09/new.json").toFile().exists());
        }
    }

    private Map<String, String> settings(String bucket) {
        Map<String, String> settings = RelayApp.settingsFor(server, bucket, work);
        settings.put("relay.poll-interval", "3600000");
        return settings;
    }

    private void awaitAllDelivered(RelayApp app, String bucket) {
        await().atMost(Duration.ofMinutes(2)).until(() -> app.ledger().count() == OBJECTS);
        await().atMost(Duration.ofSeconds(30)).until(() -> app.camel().getRegistry()
                .lookupByNameAndType("inFlight", InFlight.class).size() == 0);
    }

    private static void pollOnce(RelayApp app) throws Exception {
        NotifyBuilder polled = new NotifyBuilder(app.camel()).fromRoute("poll-bucket").whenCompleted(1).create();
        app.camel().getRouteController().stopRoute("poll-bucket");
        app.camel().getRouteController().startRoute("poll-bucket");
        assertThat(polled.matches(60, TimeUnit.SECONDS)).as("a poll completed").isTrue();
    }
}
