package dev.r2relay.faults;

import static dev.r2relay.support.FaultProxy.getOf;
import static dev.r2relay.support.FaultProxy.listing;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.client.RequestCounter;
import dev.r2relay.support.FaultProxy;
import dev.r2relay.support.FaultProxy.Fault;
import dev.r2relay.support.FaultProxy.Request;
import dev.r2relay.support.FaultProxy.Served;
import dev.r2relay.support.HttpSink;
import dev.r2relay.jms.JmsTesting;
import dev.r2relay.jms.JmsTesting.Received;
import dev.r2relay.support.LogCapture;
import dev.r2relay.support.ProxiedS3;
import dev.r2relay.support.RamTempDirs;
import dev.r2relay.support.RelayApp;
import dev.r2relay.support.RelayHttp;
import dev.r2relay.support.TestObjects;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.CompletedPart;

/**
 * Faults between r2-relay and the S3 server, injected by {@link FaultProxy}: server errors and
 * throttling are retried by the S3 client, broken bodies (resets, stalls, truncation, a wrong
 * Content-Length) are detected and the rest fetched again, every object arrives byte-identical and
 * every retry is counted, in the request counter and in {@code r2relay_s3_retries_total}.
 */
class FaultInjectionTest {

    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final int KIB = 1024;
    @RegisterExtension
    static final ProxiedS3 S3 = new ProxiedS3("faults");

    @TempDir(factory = RamTempDirs.class)
    Path work;
    private RelayApp app;

    @AfterEach
    void stop() throws Exception {
        if (app != null) {
            app.close();
        }
        assertThat(temporaryFiles()).as("temporary files left in the inbox").isEmpty();
    }

    /** The application reading through the proxy; a stall longer than 3 s counts as a broken read. */
    private Map<String, String> settings() {
        Map<String, String> p = S3.settings(work);
        p.put("r2.read-timeout", "3000");
        p.put("r2.max-attempts", "4");
        return p;
    }

    @Test
    void serverErrorsThrottlingAndResetsAreRetriedAndCounted() throws Exception {
        Map<String, byte[]> objects = new LinkedHashMap<>();
        objects.put("a.bin", put("a.bin", 10 * KIB, 1));
        objects.put("b.bin", put("b.bin", 20 * KIB, 2));
        objects.put("c.bin", put("c.bin", 30 * KIB, 3));
        objects.put("d.bin", put("d.bin", 40 * KIB, 4));
        objects.put("e.bin", put("e.bin", 50 * KIB, 5));
        S3.proxy().inject(getOf("a.bin"), 1, Fault.internalError())
                .inject(getOf("b.bin"), 2, Fault.serviceUnavailable())
                .inject(getOf("c.bin"), 1, Fault.reset())
                .inject(getOf("d.bin"), 1, Fault.tooManyRequests(0))
                .inject(getOf("e.bin"), 1, Fault.noAnswer())
                .inject(listing(), 1, Fault.serviceUnavailable())
                .inject(listing(), 1, Fault.reset());

        app = RelayApp.start(settings());
        awaitDelivered(objects);

        assertThat(S3.proxy().served(getOf("a.bin"))).hasSize(2);
        assertThat(S3.proxy().served(getOf("b.bin"))).hasSize(3);
        assertThat(S3.proxy().served(getOf("c.bin"))).hasSize(2);
        assertThat(S3.proxy().served(getOf("d.bin"))).hasSize(2);
        assertThat(S3.proxy().served(getOf("e.bin"))).as("a GET never answered, then one after r2.read-timeout")
                .hasSize(2);
        assertThat(S3.proxy().faultsInjected()).isEqualTo(8);
        RequestCounter counter = counter();
        assertThat(counter.retries("GetObject")).isEqualTo(6);
        assertThat(counter.retries("ListObjectsV2")).isEqualTo(2);
        assertThat(metric("r2relay_s3_retries_total", "operation=\"GetObject\"")).isEqualTo(6);
        assertThat(metric("r2relay_s3_retries_total", "operation=\"ListObjectsV2\"")).isEqualTo(2);
        assertThat(metric("r2relay_failed_deliveries_total", "source=\"poll\"")).isZero();
    }

    @Test
    void aTooManyRequestsAnswerIsRetriedNoSoonerThanItsRetryAfter() throws Exception {
        Map<String, byte[]> objects = Map.of("slow.bin", put("slow.bin", 4 * KIB, 5));
        S3.proxy().inject(getOf("slow.bin"), 1, Fault.tooManyRequests(1));

        app = RelayApp.start(settings());
        awaitDelivered(objects);

        List<Served> gets = S3.proxy().served(getOf("slow.bin"));
        assertThat(gets).hasSize(2);
        long waitedMs = (gets.get(1).request().arrivedNanos() - gets.get(0).request().arrivedNanos()) / 1_000_000;
        assertThat(waitedMs).as("ms between the 429 and the retry").isGreaterThanOrEqualTo(1000);
        assertThat(counter().retries("GetObject")).isEqualTo(1);
    }

    @Test
    void brokenBodiesAreDetectedAndTheRestFetchedAgain() throws Exception {
        Map<String, byte[]> objects = new LinkedHashMap<>();
        // single-part objects, whose ETag is their MD5, and multipart ones, whose ETag is not
        objects.put("reset.bin", put("reset.bin", 300 * KIB, 11));
        objects.put("truncated.bin", put("truncated.bin", 300 * KIB, 12));
        objects.put("stalled.bin", put("stalled.bin", 300 * KIB, 13));
        objects.put("short-length.bin", put("short-length.bin", 300 * KIB, 14));
        objects.put("long-length.bin", put("long-length.bin", 300 * KIB, 15));
        objects.put("multipart-short-length.bin", putMultipart("multipart-short-length.bin", 2, 16));
        objects.put("multipart-truncated.bin", putMultipart("multipart-truncated.bin", 2, 17));
        S3.proxy().inject(getOf("reset.bin"), 1, Fault.resetAfter(100 * KIB))
                .inject(getOf("truncated.bin"), 1, Fault.truncateAfter(64 * KIB))
                .inject(getOf("stalled.bin"), 1, Fault.stallAfter(200 * KIB))
                .inject(getOf("short-length.bin"), 1, Fault.contentLength(100 * KIB))
                .inject(getOf("long-length.bin"), 1, Fault.contentLength(400 * KIB))
                .inject(getOf("multipart-short-length.bin"), 1, Fault.contentLength(KIB))
                .inject(getOf("multipart-truncated.bin"), 1, Fault.truncateAfter(3 * KIB * KIB));

        try (LogCapture logs = LogCapture.open()) {
            app = RelayApp.start(settings());
            awaitDelivered(objects);
            assertThat(logs.matching("not delivered")).as("no delivery failed").isEmpty();
            assertThat(logs.matching("WARN", "key=stalled.bin", "fetching the rest")).hasSize(1);
        }

        // a Content-Length above the object's size needs no second GET: the expected bytes all came
        assertThat(S3.proxy().served(getOf("long-length.bin"))).hasSize(1);
        objects.remove("long-length.bin");
        for (String key : objects.keySet()) {
            List<Served> gets = S3.proxy().served(getOf(key));
            assertThat(gets).as("GETs of %s", key).hasSize(2);
            // the second GET asks only for what is missing, of the same version
            assertThat(gets.get(1).request().range()).as("range of the second GET of %s", key)
                    .startsWith("bytes=").doesNotStartWith("bytes=0-");
            assertThat(gets.get(1).request().header("If-Match")).as("If-Match of the second GET of %s", key)
                    .isEqualTo("\"" + app.ledger().recordedEtag(S3.bucket(), key) + "\"");
        }
        assertThat(counter().retries("GetObject")).isEqualTo(objects.size());
        assertThat(metric("r2relay_s3_retries_total", "operation=\"GetObject\"")).isEqualTo(objects.size());
    }

    @Test
    void brokenRangesOfALargeObjectAreResumedWithoutFetchingTheWholeObjectAgain() throws Exception {
        int part = 256 * KIB;
        Map<String, byte[]> objects = Map.of("large.bin", put("large.bin", 9 * part - 77, 21));
        S3.proxy().inject(rangeFrom("large.bin", 2L * part), 1, Fault.truncateAfter(1000))
                .inject(rangeFrom("large.bin", 4L * part), 1, Fault.stallAfter(100 * KIB))
                .inject(rangeFrom("large.bin", 7L * part), 1, Fault.resetAfter(10));
        Map<String, String> settings = settings();
        settings.put("relay.multipart-threshold", Integer.toString(KIB * KIB));
        settings.put("relay.part-size", Integer.toString(part));
        settings.put("relay.part-concurrency", "3");

        app = RelayApp.start(settings);
        awaitDelivered(objects);

        List<Served> gets = S3.proxy().served(getOf("large.bin"));
        assertThat(gets).as("nine ranges and three resumes").hasSize(12);
        assertThat(gets).extracting(g -> g.request().range())
                .contains("bytes=" + (2L * part + 1000) + "-" + (3L * part - 1))
                .contains("bytes=" + (4L * part + 100 * KIB) + "-" + (5L * part - 1))
                .contains("bytes=" + (7L * part + 10) + "-" + (8L * part - 1));
        assertThat(counter().retries("GetObject")).isEqualTo(3);
    }

    @Test
    void anHttpEndpointReceivesEachObjectOnceAndWholeWhateverHappensOnTheWayFromTheBucket() throws Exception {
        Map<String, byte[]> objects = new LinkedHashMap<>();
        objects.put("truncated.bin", put("truncated.bin", 200 * KIB, 31));
        objects.put("multipart-short-length.bin", putMultipart("multipart-short-length.bin", 1, 32));
        S3.proxy().inject(getOf("truncated.bin"), 1, Fault.truncateAfter(50 * KIB))
                .inject(getOf("multipart-short-length.bin"), 1, Fault.contentLength(KIB));
        try (HttpSink sink = new HttpSink()) {
            Map<String, String> settings = settings();
            settings.put("relay.target", "http");
            settings.put("relay.http.url", sink.url("/in/{key}"));
            app = RelayApp.start(settings);
            await().atMost(WAIT).until(() -> objects.keySet().stream()
                    .allMatch(k -> app.ledger().recordedEtag(S3.bucket(), k) != null));

            for (Map.Entry<String, byte[]> e : objects.entrySet()) {
                assertThat(sink.received()).filteredOn(r -> r.rawPath().equals("/in/" + e.getKey()))
                        .singleElement().satisfies(r -> {
                            assertThat(r.sha256()).isEqualTo(TestObjects.sha256(e.getValue()));
                            assertThat(r.header("Content-Length")).isEqualTo(Integer.toString(e.getValue().length));
                        });
            }
        }
        assertThat(counter().retries("GetObject")).isEqualTo(2);
    }

    @Test
    void aJmsMessageCarriesTheWholeObjectWhateverHappensOnTheWayFromTheBucket() throws Exception {
        Map<String, byte[]> objects = new LinkedHashMap<>();
        objects.put("truncated.bin", put("truncated.bin", 200 * KIB, 41));
        objects.put("multipart-short-length.bin", putMultipart("multipart-short-length.bin", 1, 42));
        S3.proxy().inject(getOf("truncated.bin"), 1, Fault.resetAfter(50 * KIB))
                .inject(getOf("multipart-short-length.bin"), 1, Fault.contentLength(KIB));
        Map<String, String> settings = JmsTesting.jmsSettings(S3.server(), S3.bucket(), work);
        settings.putAll(settings());
        settings.put("relay.jms.max-inline-size", Integer.toString(16 * KIB * KIB));

        app = RelayApp.start(settings);
        await().atMost(WAIT).until(() -> objects.keySet().stream()
                .allMatch(k -> app.ledger().recordedEtag(S3.bucket(), k) != null));

        List<Received> received = JmsTesting.consume(JmsTesting.core(JmsTesting.brokerUrl(app)), JmsTesting.QUEUE,
                objects.size(), WAIT, Duration.ofMillis(500));
        assertThat(received).extracting(Received::key).containsExactlyInAnyOrderElementsOf(objects.keySet());
        for (Received r : received) {
            assertThat(r.text()).as("inline bytes, not a claim check").isFalse();
            assertThat(TestObjects.sha256(r.body())).as("bytes of %s", r.key())
                    .isEqualTo(TestObjects.sha256(objects.get(r.key())));
        }
        assertThat(counter().retries("GetObject")).isEqualTo(2);
    }

    @Test
    void underRandomFaultsEveryObjectArrivesOnceAndIntactAndEachFaultCostsOneCountedRetry() throws Exception {
        Random random = new Random(20240802);
        List<Fault> kinds = List.of(Fault.internalError(), Fault.serviceUnavailable(), Fault.tooManyRequests(0),
                Fault.reset(), Fault.resetAfter(5 * KIB), Fault.truncateAfter(7 * KIB), Fault.stallAfter(3 * KIB),
                Fault.contentLength(2 * KIB));
        Map<String, byte[]> objects = new LinkedHashMap<>();
        for (int i = 0; i < 60; i++) {
            String key = "soak/object-" + i + ".bin";
            objects.put(key, put(key, 16 * KIB + random.nextInt(48 * KIB), i));
            if (random.nextInt(3) > 0) {
                S3.proxy().inject(getOf(key), 1, kinds.get(random.nextInt(kinds.size())));
            }
        }
        S3.proxy().inject(listing(), 1, Fault.internalError()).inject(listing(), 1, Fault.reset());

        try (LogCapture logs = LogCapture.open()) {
            app = RelayApp.start(settings());
            awaitDelivered(objects);
            for (String key : objects.keySet()) {
                assertThat(logs.matching("INFO", "delivered bucket=" + S3.bucket() + " key=" + key + " "))
                        .as("delivery lines of %s", key).hasSize(1);
            }
        }
        long faults = S3.proxy().faultsInjected();
        assertThat(faults).isGreaterThan(30);
        assertThat(counter().retries()).isEqualTo(faults);
        assertThat(metric("r2relay_s3_retries_total", "operation=\"GetObject\"")
                + metric("r2relay_s3_retries_total", "operation=\"ListObjectsV2\"")).isEqualTo(faults);
        assertThat(metric("r2relay_failed_deliveries_total", "source=\"poll\"")).isZero();
    }

    @Test
    void theNextListingPageIsFetchedWhileThePreviousPageIsDelivered() throws Exception {
        Map<String, byte[]> objects = new LinkedHashMap<>();
        for (int i = 0; i < 1100; i++) {
            String key = String.format("p/%04d.bin", i);
            objects.put(key, put(key, 64, 9_000 + i));
        }
        AtomicInteger deliveredWhenAsked = new AtomicInteger(-1);
        S3.proxy().inject(r -> r.isListing() && r.query().containsKey("continuation-token"), 1,
                Fault.before("count the deliveries", r -> deliveredWhenAsked.set(app == null ? 0
                        : (int) app.ledger().count())));

        app = RelayApp.start(settings());
        awaitDelivered(objects);

        // before, page two was asked for only once page one was queued, nearly delivered (984 of 1,000)
        assertThat(deliveredWhenAsked.get()).as("objects delivered when page two was asked for")
                .isBetween(0, 500);
    }

    // --- helpers ------------------------------------------------------------------------------

    private void awaitDelivered(Map<String, byte[]> objects) {
        await("delivery of " + objects.keySet()).atMost(WAIT).untilAsserted(() -> {
            for (Map.Entry<String, byte[]> e : objects.entrySet()) {
                assertThat(app.ledger().recordedEtag(S3.bucket(), e.getKey())).as("ledger entry of %s", e.getKey())
                        .isNotNull();
            }
        });
        for (Map.Entry<String, byte[]> e : objects.entrySet()) {
            Path file = work.resolve("inbox").resolve(e.getKey());
            assertThat(file).as("delivered %s", e.getKey()).exists();
            try {
                assertThat(TestObjects.sha256(Files.readAllBytes(file))).as("bytes of %s", e.getKey())
                        .isEqualTo(TestObjects.sha256(e.getValue()));
            } catch (IOException ex) {
                throw new AssertionError(ex);
            }
        }
    }

    /** Ranged GETs of {@code key} starting at byte {@code from}. */
    private static Predicate<Request> rangeFrom(String key, long from) {
        return r -> r.isGetObject() && r.key().equals(key) && r.range() != null
                && r.range().startsWith("bytes=" + from + "-");
    }

    private RequestCounter counter() {
        return app.camel().getRegistry().lookupByNameAndType("requestCounter", RequestCounter.class);
    }

    private double metric(String name, String... labels) {
        PrometheusMeterRegistry registry = app.camel().getRegistry()
                .lookupByNameAndType("metricsRegistry", PrometheusMeterRegistry.class);
        return RelayHttp.value(registry.scrape(), name, labels);
    }

    private byte[] put(String key, int size, long seed) {
        byte[] data = random(size, seed);
        S3.s3().putObject(b -> b.bucket(S3.bucket()).key(key), RequestBody.fromBytes(data));
        return data;
    }

    /** A multipart upload of {@code parts} parts of 5 MiB plus a small last one: its ETag is not an MD5. */
    private byte[] putMultipart(String key, int parts, long seed) {
        int partSize = 5 * KIB * KIB;
        byte[] data = random(parts * partSize + 1000, seed);
        String upload = S3.s3().createMultipartUpload(b -> b.bucket(S3.bucket()).key(key)).uploadId();
        List<CompletedPart> done = new ArrayList<>();
        for (int i = 0; i <= parts; i++) {
            int from = i * partSize;
            int to = Math.min(data.length, from + partSize);
            int number = i + 1;
            byte[] part = java.util.Arrays.copyOfRange(data, from, to);
            String etag = S3.s3().uploadPart(b -> b.bucket(S3.bucket()).key(key).uploadId(upload).partNumber(number),
                    RequestBody.fromBytes(part)).eTag();
            done.add(CompletedPart.builder().partNumber(number).eTag(etag).build());
        }
        S3.s3().completeMultipartUpload(b -> b.bucket(S3.bucket()).key(key).uploadId(upload)
                .multipartUpload(m -> m.parts(done)));
        String etag = S3.s3().headObject(b -> b.bucket(S3.bucket()).key(key)).eTag();
        assertThat(etag).as("a multipart ETag").contains("-");
        return data;
    }

    static byte[] random(int size, long seed) {
        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        return data;
    }

    private List<Path> temporaryFiles() throws IOException {
        Path inbox = work.resolve("inbox");
        if (!Files.isDirectory(inbox)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(inbox)) {
            return files.filter(p -> p.getFileName().toString().contains(".r2relay-")).toList();
        }
    }
}
