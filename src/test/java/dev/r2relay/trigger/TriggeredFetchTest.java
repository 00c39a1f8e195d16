package dev.r2relay.trigger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.r2relay.delivery.DeliveryClaims;
import dev.r2relay.delivery.RelayHeaders;
import dev.r2relay.support.RelayApp;
import dev.r2relay.support.S3ProxyServer;
import dev.r2relay.support.TestClients;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.camel.CamelExecutionException;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/** Trigger bodies sent to the real application's fetch-request route, against S3Proxy. */
class TriggeredFetchTest {

    private static S3ProxyServer server;
    private static S3Client s3;

    @TempDir
    Path work;
    private String bucket;
    private RelayApp app;
    private ProducerTemplate trigger;

    @BeforeAll
    static void startServer() {
        server = new S3ProxyServer();
        s3 = TestClients.s3(server);
    }

    @AfterAll
    static void stopServer() {
        s3.close();
        server.close();
    }

    @BeforeEach
    void startApp(TestInfo test) throws Exception {
        bucket = "trig-" + Integer.toHexString(test.getDisplayName().hashCode() & 0xfffffff);
        server.createBucket(bucket);
        Map<String, String> settings = RelayApp.settingsFor(server, bucket, work);
        settings.put("relay.poll.enabled", "false");
        settings.put("relay.trigger.delete-files", "true");
        app = RelayApp.start(settings);
        trigger = app.camel().createProducerTemplate();
    }

    @AfterEach
    void stopApp() throws Exception {
        trigger.close();
        app.close();
    }

    @Test
    void aBareKeyFetchesTheObject() throws Exception {
        put("reports/q1.csv", "a,b\n1,2\n");
        trigger.sendBody("direct:fetch-request", "reports/q1.csv");
        assertThat(Files.readString(work.resolve("inbox/reports/q1.csv"))).isEqualTo("a,b\n1,2\n");
    }

    @Test
    void jsonNamingBucketAndKeyFetchesTheObject() throws Exception {
        put("x/y z.txt", "spaced");
        trigger.sendBody("direct:fetch-request", "{\"bucket\":\"" + bucket + "\",\"key\":\"x/y z.txt\"}");
        assertThat(Files.readString(work.resolve("inbox/x/y z.txt"))).isEqualTo("spaced");
    }

    @Test
    void aDuplicatedEventDeliversOnce() throws Exception {
        String etag = put("events/one.json", "{\"n\":1}");
        String event = event("PutObject", "events/one.json", etag);
        trigger.sendBody("direct:fetch-request", event);
        Path file = work.resolve("inbox/events/one.json");
        long firstWrite = Files.getLastModifiedTime(file).toMillis();
        long getsAfterFirst = server.getCount(bucket);
        trigger.sendBody("direct:fetch-request", event);
        assertThat(server.getCount(bucket)).as("no second download").isEqualTo(getsAfterFirst);
        assertThat(Files.getLastModifiedTime(file).toMillis()).isEqualTo(firstWrite);
        assertThat(app.ledger().recordedEtag(bucket, "events/one.json")).isEqualTo(etag);
    }

    @Test
    void anEventNamingAnOlderVersionDeliversTheNewerOne() throws Exception {
        String old = put("doc.txt", "version 1");
        put("doc.txt", "version 2");
        trigger.sendBody("direct:fetch-request", event("PutObject", "doc.txt", old));
        assertThat(Files.readString(work.resolve("inbox/doc.txt"))).isEqualTo("version 2");
    }

    @Test
    void aStaleEventArrivingAfterTheNewerVersionWasDeliveredDoesNothing() throws Exception {
        String old = put("late.txt", "old");
        String current = put("late.txt", "new");
        trigger.sendBody("direct:fetch-request", event("PutObject", "late.txt", current));
        long gets = server.getCount(bucket);
        trigger.sendBody("direct:fetch-request", event("PutObject", "late.txt", old));
        assertThat(server.getCount(bucket)).isEqualTo(gets);
        assertThat(Files.readString(work.resolve("inbox/late.txt"))).isEqualTo("new");
    }

    @Test
    void aCreateEventForAnObjectAlreadyDeletedIsSkipped() throws Exception {
        trigger.sendBody("direct:fetch-request", event("PutObject", "never-there.txt", "0123456789abcdef0123456789abcdef"));
        assertThat(work.resolve("inbox/never-there.txt")).doesNotExist();
        assertThat(server.getCount(bucket)).isZero();
    }

    @Test
    void aDeleteEventRemovesTheDeliveredFileWhenConfigured() throws Exception {
        String etag = put("tmp/file.bin", "bytes");
        trigger.sendBody("direct:fetch-request", event("PutObject", "tmp/file.bin", etag));
        assertThat(work.resolve("inbox/tmp/file.bin")).exists();
        s3.deleteObject(b -> b.bucket(bucket).key("tmp/file.bin"));
        trigger.sendBody("direct:fetch-request", "{\"account\":\"a\",\"action\":\"DeleteObject\",\"bucket\":\""
                + bucket + "\",\"object\":{\"key\":\"tmp/file.bin\"},\"eventTime\":\"2024-05-24T19:36:44Z\"}");
        assertThat(work.resolve("inbox/tmp/file.bin")).doesNotExist();
        assertThat(app.ledger().recordedEtag(bucket, "tmp/file.bin")).isNull();
    }

    @Test
    void aCorruptTriggerFailsWithAClearMessageAndDeliversNothing() {
        assertThatThrownBy(() -> trigger.sendBody("direct:fetch-request", "{\"key\": "))
                .isInstanceOf(CamelExecutionException.class)
                .cause().isInstanceOf(InvalidTriggerException.class).hasMessageContaining("not valid JSON");
        assertThat(work.resolve("inbox")).doesNotExist();
    }

    @Test
    void aFailedTriggeredDeliveryGoesBackToTheTriggerAndIsNotRecorded() throws Exception {
        put("reports/q2.csv", "x");
        Files.writeString(work.resolve("inbox"), "a file where the inbox folder should be");
        assertThatThrownBy(() -> trigger.sendBody("direct:fetch-request", "reports/q2.csv"))
                .isInstanceOf(CamelExecutionException.class);
        assertThat(app.ledger().recordedEtag(bucket, "reports/q2.csv")).isNull();

        // the failed delivery let go of its claim: the trigger's retry delivers it
        Files.delete(work.resolve("inbox"));
        trigger.sendBody("direct:fetch-request", "reports/q2.csv");
        assertThat(Files.readString(work.resolve("inbox/reports/q2.csv"))).isEqualTo("x");
    }

    @Test
    void anObjectTriggeredAgainAfterItChangedIsDeliveredAgain() throws Exception {
        put("daily.csv", "monday");
        trigger.sendBody("direct:fetch-request", "daily.csv");
        String tuesday = put("daily.csv", "tuesday");
        trigger.sendBody("direct:fetch-request", "daily.csv");
        assertThat(Files.readString(work.resolve("inbox/daily.csv"))).isEqualTo("tuesday");
        assertThat(app.ledger().recordedEtag(bucket, "daily.csv")).isEqualTo(tuesday);
    }

    @Test
    void aTriggerForAnObjectAnotherDeliveryHoldsFailsUntilThatDeliveryEnds() throws Exception {
        String etag = put("busy/report.pdf", "%PDF");
        Exchange other = new DefaultExchange(app.camel());
        other.getMessage().setHeader(RelayHeaders.BUCKET, bucket);
        other.getMessage().setHeader(RelayHeaders.KEY, "busy/report.pdf");
        other.getMessage().setHeader(RelayHeaders.ETAG, etag);
        DeliveryClaims claims = app.camel().getRegistry().lookupByNameAndType("deliveryClaims", DeliveryClaims.class);
        assertThat(claims.tryClaim(other)).isEqualTo(DeliveryClaims.Outcome.CLAIMED);

        assertThatThrownBy(() -> trigger.sendBody("direct:fetch-request", "busy/report.pdf"))
                .isInstanceOf(CamelExecutionException.class)
                .cause().isInstanceOf(ObjectBusyException.class).hasMessageContaining("another delivery of");
        assertThat(server.getCount(bucket)).as("nothing fetched while the other delivery holds it").isZero();

        // the other delivery ends (without recording it): its claim is released, the retry delivers
        other.getExchangeExtension().handoverCompletions().forEach(done -> done.onFailure(other));
        trigger.sendBody("direct:fetch-request", "busy/report.pdf");
        assertThat(Files.readString(work.resolve("inbox/busy/report.pdf"))).isEqualTo("%PDF");
    }

    private String put(String key, String content) {
        return s3.putObject(b -> b.bucket(bucket).key(key), RequestBody.fromString(content, StandardCharsets.UTF_8))
                .eTag().replace("\"", "");
    }

    private String event(String action, String key, String etag) {
        return "{\"account\":\"3f4b7e3dcab231cbfdaa90a6a28bd548\",\"action\":\"" + action + "\",\"bucket\":\"" + bucket
                + "\",\"object\":{\"key\":\"" + key + "\",\"size\":1,\"eTag\":\"" + etag + "\"},"
                + "\"eventTime\":\"2024-05-24T19:36:44.379Z\"}";
    }
}
