package dev.r2relay.jms;

import static dev.r2relay.jms.JmsTesting.QUEUE;
import static dev.r2relay.jms.JmsTesting.consume;
import static dev.r2relay.jms.JmsTesting.core;
import static dev.r2relay.jms.JmsTesting.put;
import static dev.r2relay.jms.JmsTesting.s3;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.r2relay.jms.JmsTesting.Received;
import dev.r2relay.support.RelayApp;
import dev.r2relay.support.RelayHttp;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import dev.r2relay.support.S3ProxyServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.logging.log4j.Level;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

/** An external broker (with a user and password) that goes away and comes back. */
class JmsBrokerOutageTest {

    private static final String BUCKET = "outage-bucket";
    private static final String USER = "relay";

    @TempDir
    Path work;

    private Map<String, String> settings(S3ProxyServer server, SecuredBroker broker, String password) {
        Map<String, String> p = RelayApp.settingsFor(server, BUCKET, work);
        p.put("relay.target", "jms");
        p.put("relay.jms.url", broker.url());
        p.put("relay.jms.username", USER);
        p.put("relay.jms.password", password);
        return p;
    }

    @Test
    void nothingIsRecordedWhileTheBrokerIsDownAndEveryObjectArrivesOnceWhenItIsBack() throws Exception {
        String password = "pw-" + UUID.randomUUID();
        try (LogCapture logs = LogCapture.attach();
             S3ProxyServer server = new S3ProxyServer(); S3Client s3 = s3(server);
             SecuredBroker broker = SecuredBroker.start(work.resolve("broker"), USER, password, QUEUE)) {
            server.createBucket(BUCKET);
            put(s3, BUCKET, "before.txt", "sent while up".getBytes(StandardCharsets.UTF_8), "text/plain");
            try (RelayApp app = RelayApp.start(settings(server, broker, password))) {
                await().atMost(Duration.ofSeconds(60)).until(() -> app.ledger().count() == 1);

                broker.stop();
                put(s3, BUCKET, "during-1.txt", "one".getBytes(StandardCharsets.UTF_8), "text/plain");
                put(s3, BUCKET, "during-2.txt", "two".getBytes(StandardCharsets.UTF_8), "text/plain");
                await().atMost(Duration.ofSeconds(60)).until(() ->
                        !logs.find("dev.r2relay.failed", Level.WARN, "key=during-1.txt").isEmpty()
                                && !logs.find("dev.r2relay.failed", Level.WARN, "key=during-2.txt").isEmpty());
                long lists = server.listCount(BUCKET);
                await().atMost(Duration.ofSeconds(60)).until(() -> server.listCount(BUCKET) >= lists + 3);

                // tried at every poll, recorded never, reported once each
                assertThat(app.ledger().count()).isEqualTo(1);
                assertThat(app.ledger().recordedEtag(BUCKET, "during-1.txt")).isNull();
                assertThat(app.ledger().recordedEtag(BUCKET, "during-2.txt")).isNull();
                List<LogCapture.Line> warnings = logs.find("dev.r2relay.failed", Level.WARN, "key=during-1.txt");
                assertThat(warnings).hasSize(1);
                assertThat(logs.find("dev.r2relay.failed", Level.WARN, "key=during-2.txt")).hasSize(1);
                assertThat(warnings.get(0).message())
                        .contains("the JMS broker at " + broker.url() + " is unavailable")
                        .contains("nothing is recorded and every poll tries again");
                // each refused send was tried again three times, each retry counted
                PrometheusMeterRegistry metrics = app.camel().getRegistry()
                        .lookupByNameAndType("metricsRegistry", PrometheusMeterRegistry.class);
                assertThat(RelayHttp.value(metrics.scrape(), "r2relay_delivery_retries_total", "target=\"jms\""))
                        .isGreaterThanOrEqualTo(6);

                broker.start();
                await().atMost(Duration.ofSeconds(60)).until(() -> app.ledger().count() == 3);
                List<Received> received = consume(core(broker.url(), USER, password), QUEUE, 3,
                        Duration.ofSeconds(30), Duration.ofSeconds(1));
                assertThat(received).extracting(Received::key)
                        .containsExactlyInAnyOrder("before.txt", "during-1.txt", "during-2.txt");
                assertThat(received).filteredOn(r -> r.key().equals("during-2.txt")).singleElement()
                        .satisfies(r -> assertThat(r.bodyText()).isEqualTo("two"));

                long after = server.listCount(BUCKET);
                await().atMost(Duration.ofSeconds(60)).until(() -> server.listCount(BUCKET) >= after + 3);
                assertThat(broker.messageCount()).isZero();
            }
            assertThat(logs.find("dev.r2relay.failed", Level.WARN, "key=during-1.txt")).hasSize(1);
            assertThat(logs.lines()).noneMatch(l -> l.level().isMoreSpecificThan(Level.ERROR));
            assertThat(logs.all()).doesNotContain(password);
        }
    }

    @Test
    void aWrongPasswordStopsTheStartWithoutShowingIt() throws Exception {
        String password = "pw-" + UUID.randomUUID();
        String wrong = "wrong-" + UUID.randomUUID();
        try (LogCapture logs = LogCapture.attach();
             S3ProxyServer server = new S3ProxyServer();
             SecuredBroker broker = SecuredBroker.start(work.resolve("broker"), USER, password, QUEUE)) {
            server.createBucket(BUCKET);
            assertThatThrownBy(() -> RelayApp.start(settings(server, broker, wrong)).close())
                    .satisfies(e -> {
                        StringBuilder chain = new StringBuilder();
                        for (Throwable t = e; t != null; t = t.getCause()) {
                            chain.append(t).append('\n');
                        }
                        assertThat(chain.toString())
                                .contains("refused the credentials (relay.jms.username, relay.jms.password)")
                                .doesNotContain(wrong);
                    });
            assertThat(logs.all()).doesNotContain(wrong).doesNotContain(password);
        }
    }
}
