package dev.r2relay.jms;

import static dev.r2relay.jms.JmsTesting.QUEUE;
import static dev.r2relay.jms.JmsTesting.brokerUrl;
import static dev.r2relay.jms.JmsTesting.bytes;
import static dev.r2relay.jms.JmsTesting.consume;
import static dev.r2relay.jms.JmsTesting.core;
import static dev.r2relay.jms.JmsTesting.jmsSettings;
import static dev.r2relay.jms.JmsTesting.md5;
import static dev.r2relay.jms.JmsTesting.put;
import static dev.r2relay.jms.JmsTesting.s3;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.r2relay.jms.JmsTesting.Received;
import dev.r2relay.support.RelayApp;
import dev.r2relay.support.S3ProxyServer;
import jakarta.jms.DeliveryMode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.qpid.jms.JmsConnectionFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

/** The JMS target end to end: S3Proxy, the real app with its embedded broker, and plain JMS clients. */
class JmsDeliveryTest {

    private static final String BUCKET = "jms-bucket";
    private static final Set<String> DOCUMENTED_HEADERS = Set.of("R2RelayBucket", "R2RelayKey", "R2RelayETag",
            "R2RelaySize", "R2RelayContentType", "R2RelayLastModified", "R2RelayIdentity", "R2RelayClaimCheck",
            "_AMQ_DUPL_ID");

    @TempDir
    Path work;

    private record Put(byte[] bytes, String contentType) {
    }

    @Test
    void smallObjectsTravelAsTheirBytesAndLargeOnesAsClaimChecks() throws Exception {
        Map<String, Put> objects = new LinkedHashMap<>();
        objects.put("docs/readme.txt", new Put("hello, queue\n".getBytes(StandardCharsets.UTF_8), "text/plain"));
        objects.put("data/blob.bin", new Put(bytes(100 * 1024 + 7, 1), "application/octet-stream"));
        objects.put("odd key/ä ü+%#.txt", new Put(bytes(3000, 2), "text/plain; charset=utf-8"));
        objects.put("edge/exactly-1MiB.bin", new Put(bytes(1024 * 1024, 3), "application/x-edge"));
        objects.put("empty.txt", new Put(new byte[0], "text/plain"));
        String bigKey = "big/video \"raw\" 3MiB.mp4";
        byte[] big = bytes(3 * 1024 * 1024, 4);
        objects.put(bigKey, new Put(big, "video/mp4"));

        try (S3ProxyServer server = new S3ProxyServer(); S3Client s3 = s3(server)) {
            server.createBucket(BUCKET);
            objects.forEach((key, o) -> put(s3, BUCKET, key, o.bytes(), o.contentType()));
            Instant started = Instant.now();
            try (RelayApp app = RelayApp.start(jmsSettings(server, BUCKET, work))) {
                await().atMost(Duration.ofSeconds(60)).until(() -> app.ledger().count() == objects.size());
                long gets = server.getCount(BUCKET);

                List<Received> received = consume(core(brokerUrl(app)), QUEUE, objects.size(),
                        Duration.ofSeconds(30), Duration.ofSeconds(1));
                assertThat(received).extracting(Received::key)
                        .containsExactlyInAnyOrderElementsOf(objects.keySet());
                Map<String, Received> byKey = received.stream().collect(Collectors.toMap(Received::key, r -> r));

                for (Map.Entry<String, Put> e : objects.entrySet()) {
                    String key = e.getKey();
                    Put put = e.getValue();
                    Received r = byKey.get(key);
                    String etag = md5(put.bytes());
                    String identity = BUCKET + "/" + key + "@" + etag;
                    // as the store reports it (S3Proxy normalizes "a; b" to "a;b")
                    String storedType = s3.headObject(b -> b.bucket(BUCKET).key(key)).contentType();
                    Map<String, Object> headers = new HashMap<>(r.properties());
                    // JMSX* and _AMQ_* (such as _AMQ_LARGE_SIZE) are the broker's own
                    headers.keySet().removeIf(name -> name.startsWith("JMSX")
                            || (name.startsWith("_AMQ_") && !name.equals("_AMQ_DUPL_ID")));
                    assertThat(headers.keySet()).as("headers of %s", key).isEqualTo(DOCUMENTED_HEADERS);
                    assertThat(headers).as("headers of %s", key)
                            .containsEntry("R2RelayBucket", BUCKET)
                            .containsEntry("R2RelayKey", key)
                            .containsEntry("R2RelayETag", etag)
                            .containsEntry("R2RelaySize", (long) put.bytes().length)
                            .containsEntry("R2RelayContentType", storedType)
                            .containsEntry("R2RelayIdentity", identity)
                            .containsEntry("R2RelayClaimCheck", key.equals(bigKey))
                            .containsEntry("_AMQ_DUPL_ID", identity);
                    Instant lastModified = Instant.parse((String) headers.get("R2RelayLastModified"));
                    assertThat(lastModified).isBetween(started.minusSeconds(120), Instant.now().plusSeconds(5));
                    assertThat(r.deliveryMode()).isEqualTo(DeliveryMode.PERSISTENT);
                    if (!key.equals(bigKey)) {
                        assertThat(r.text()).as("%s is a BytesMessage", key).isFalse();
                        assertThat(r.body()).as("bytes of %s", key).isEqualTo(put.bytes());
                    }
                }

                // the large object was never downloaded by the relay: only the five small ones were
                assertThat(gets).isEqualTo(objects.size() - 1);
                Received link = byKey.get(bigKey);
                assertThat(link.text()).isTrue();
                JsonNode json = new ObjectMapper().readTree(link.bodyText());
                assertThat(iterable(json.fieldNames())).containsExactlyInAnyOrder("bucket", "key", "etag", "size",
                        "contentType", "url", "expiresAt");
                assertThat(json.get("bucket").asText()).isEqualTo(BUCKET);
                assertThat(json.get("key").asText()).isEqualTo(bigKey);
                assertThat(json.get("etag").asText()).isEqualTo(md5(big));
                assertThat(json.get("size").asLong()).isEqualTo(big.length);
                assertThat(json.get("contentType").asText()).isEqualTo("video/mp4");
                Instant expiresAt = Instant.parse(json.get("expiresAt").asText());
                assertThat(expiresAt).isBetween(started.plus(Duration.ofMinutes(59)),
                        Instant.now().plus(Duration.ofMinutes(61)));

                HttpResponse<byte[]> download = HttpClient.newHttpClient().send(
                        HttpRequest.newBuilder(URI.create(json.get("url").asText())).GET().build(),
                        HttpResponse.BodyHandlers.ofByteArray());
                assertThat(download.statusCode()).isEqualTo(200);
                assertThat(download.body()).isEqualTo(big);
            }
        }
    }

    @Test
    void otherClientsConsumeOverAmqp() throws Exception {
        byte[] bytes = bytes(2000, 9);
        try (S3ProxyServer server = new S3ProxyServer(); S3Client s3 = s3(server)) {
            server.createBucket(BUCKET);
            put(s3, BUCKET, "amqp/hello.bin", bytes, "application/octet-stream");
            try (RelayApp app = RelayApp.start(jmsSettings(server, BUCKET, work))) {
                await().atMost(Duration.ofSeconds(60)).until(() -> app.ledger().count() == 1);
                String amqp = "amqp://127.0.0.1:" + JmsTesting.broker(app).port();
                List<Received> received = consume(new JmsConnectionFactory(amqp), QUEUE, 1, Duration.ofSeconds(30),
                        Duration.ofMillis(500));
                assertThat(received).hasSize(1);
                Received r = received.get(0);
                assertThat(r.text()).isFalse();
                assertThat(r.body()).isEqualTo(bytes);
                assertThat(r.properties())
                        .containsEntry("R2RelayKey", "amqp/hello.bin")
                        .containsEntry("R2RelaySize", 2000L)
                        .containsEntry("R2RelayIdentity", BUCKET + "/amqp/hello.bin@" + md5(bytes));
            }
        }
    }

    private static List<String> iterable(java.util.Iterator<String> names) {
        List<String> list = new java.util.ArrayList<>();
        names.forEachRemaining(list::add);
        return list;
    }
}
