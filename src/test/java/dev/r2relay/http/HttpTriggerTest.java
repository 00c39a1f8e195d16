package dev.r2relay.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.support.RelayApp;
import dev.r2relay.support.RelayHttp;
import dev.r2relay.support.S3ProxyServer;
import dev.r2relay.support.TestClients;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/** POST /fetch on the real application (poller off), against S3Proxy. */
class HttpTriggerTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String BUCKET = "http-trigger";

    @TempDir
    static Path work;
    private static S3ProxyServer server;
    private static S3Client s3;
    private static RelayApp app;
    private static RelayHttp http;

    @BeforeAll
    static void start() throws Exception {
        server = new S3ProxyServer();
        server.createBucket(BUCKET);
        s3 = TestClients.s3(server);
        int port = RelayHttp.freePort();
        Map<String, String> settings = RelayHttp.serverOn(RelayApp.settingsFor(server, BUCKET, work), port);
        settings.put("relay.poll.enabled", "false");
        settings.put("relay.trigger.http.enabled", "true");
        app = RelayApp.start(settings);
        http = new RelayHttp(port);
    }

    @AfterAll
    static void stop() throws Exception {
        app.close();
        s3.close();
        server.close();
    }

    @Test
    void aBareKeyIsAcceptedAndDelivered() throws Exception {
        put("reports/q1.csv", "a,b\n1,2\n");
        HttpResponse<String> response = http.post("/fetch", "reports/q1.csv", "text/plain");
        assertThat(response.statusCode()).isEqualTo(202);
        assertThat(response.headers().firstValue("content-type")).hasValue("application/json");
        assertThat(response.body()).contains("\"status\":\"accepted\"")
                .contains("{\"bucket\":\"" + BUCKET + "\",\"key\":\"reports/q1.csv\",\"action\":\"create\"}");
        awaitFile("reports/q1.csv", "a,b\n1,2\n");
    }

    @Test
    void aFormBodyIsRefusedWithTheContentTypeToUse() throws Exception {
        // what curl --data-binary sends without -H: the server would decode it into form fields
        HttpResponse<String> response = http.post("/fetch", "curl/a+b=c.txt", "application/x-www-form-urlencoded");
        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(response.body()).contains("Content-Type: text/plain");
    }

    @Test
    void jsonNamingBucketAndKeysIsAcceptedAndEachObjectDelivered() throws Exception {
        put("json/one.txt", "one");
        put("json/two words.txt", "two");
        HttpResponse<String> single = http.post("/fetch",
                "{\"bucket\":\"" + BUCKET + "\",\"key\":\"json/one.txt\"}", "application/json");
        assertThat(single.statusCode()).isEqualTo(202);
        assertThat(single.body()).contains("\"key\":\"json/one.txt\"");
        HttpResponse<String> array = http.post("/fetch",
                "[{\"key\":\"json/one.txt\"},{\"key\":\"json/two words.txt\"}]", "application/json");
        assertThat(array.statusCode()).isEqualTo(202);
        assertThat(array.body()).contains("\"key\":\"json/one.txt\"").contains("\"key\":\"json/two words.txt\"");
        awaitFile("json/one.txt", "one");
        awaitFile("json/two words.txt", "two");
    }

    @Test
    void anR2EventNotificationIsAcceptedAndDelivered() throws Exception {
        String etag = put("events/e1.json", "{\"n\":1}");
        String event = "{\"account\":\"3f4b7e3dcab231cbfdaa90a6a28bd548\",\"action\":\"PutObject\",\"bucket\":\""
                + BUCKET + "\",\"object\":{\"key\":\"events/e1.json\",\"size\":7,\"eTag\":\"" + etag + "\"},"
                + "\"eventTime\":\"2024-05-24T19:36:44.379Z\"}";
        HttpResponse<String> response = http.post("/fetch", event, "application/json");
        assertThat(response.statusCode()).isEqualTo(202);
        assertThat(response.body()).contains("\"key\":\"events/e1.json\",\"action\":\"create\"");
        awaitFile("events/e1.json", "{\"n\":1}");
        await().atMost(WAIT).untilAsserted(() -> assertThat(RelayHttp.value(http.get("/observe/metrics").body(),
                "r2relay_delivered_objects_total", "source=\"http-trigger\"")).isGreaterThanOrEqualTo(1));
    }

    @Test
    void aCorruptBodyIsRefusedWith400AndTheReasonAndNothingIsDelivered() throws Exception {
        double invalidBefore = RelayHttp.sample(http.get("/observe/metrics").body(),
                "r2relay_invalid_triggers_total", "source=\"http-trigger\"").orElse(0);
        HttpResponse<String> response = http.post("/fetch", "{\"key\": ", "application/json");
        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(response.headers().firstValue("content-type")).hasValue("application/json");
        assertThat(response.body()).contains("\"status\":\"rejected\"").contains("not valid JSON");
        assertThat(RelayHttp.value(http.get("/observe/metrics").body(), "r2relay_invalid_triggers_total",
                "source=\"http-trigger\"")).isEqualTo(invalidBefore + 1);

        HttpResponse<String> otherBucket = http.post("/fetch", "{\"bucket\":\"elsewhere\",\"key\":\"k\"}",
                "application/json");
        assertThat(otherBucket.statusCode()).isEqualTo(400);
        assertThat(otherBucket.body()).contains("names bucket 'elsewhere'");
        assertThat(http.post("/fetch", "", "text/plain").statusCode()).isEqualTo(400);
    }

    @Test
    void onlyPostIsServed() throws Exception {
        assertThat(http.get("/fetch").statusCode()).isEqualTo(405);
    }

    private String put(String key, String content) {
        return s3.putObject(b -> b.bucket(BUCKET).key(key), RequestBody.fromString(content, StandardCharsets.UTF_8))
                .eTag().replace("\"", "");
    }

    private static void awaitFile(String key, String content) {
        Path file = work.resolve("inbox").resolve(key);
        await().atMost(WAIT).untilAsserted(() -> assertThat(file).exists().hasContent(content));
    }
}
