package dev.r2relay.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.r2relay.state.DeliveryLedger;
import dev.r2relay.state.DeliveryLedger.Outcome;
import dev.r2relay.support.HttpSink;
import dev.r2relay.support.HttpSink.Answer;
import dev.r2relay.support.RelayApp;
import dev.r2relay.support.S3ProxyServer;
import dev.r2relay.support.TestObjects;
import jakarta.jms.Connection;
import jakarta.jms.DeliveryMode;
import jakarta.jms.Message;
import jakarta.jms.QueueBrowser;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dead letters on a JMS queue of the embedded broker ({@code relay.dead-letter=jms:queue:NAME}):
 * made by the real app, read by a separate JMS client, listed and replayed by the commands, while
 * the relay runs and after it stopped.
 */
class QueueDeadLetterCommandsTest {

    private static final String BUCKET = "dlq-bucket";
    private static final String QUEUE = "r2.dead-letters";

    @TempDir
    Path work;

    private record Ran(int code, String out, String err) {
    }

    private static Ran run(String command, Map<String, String> settings, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        int code = command.equals("replay") ? ReplayCommand.run(args, settings, o, e)
                : DeadLettersCommand.run(args, settings, o, e);
        return new Ran(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Optional<Outcome> outcome(DeliveryLedger ledger, String key) {
        return ledger.entry(BUCKET, key).map(DeliveryLedger.Entry::outcome);
    }

    /** What a separate JMS client sees on the queue, without consuming it. */
    private static List<Message> browse(int port) throws Exception {
        try (ActiveMQConnectionFactory factory = new ActiveMQConnectionFactory("tcp://127.0.0.1:" + port);
             Connection connection = factory.createConnection()) {
            connection.start();
            Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
            try (QueueBrowser browser = session.createBrowser(session.createQueue(QUEUE))) {
                List<Message> messages = new ArrayList<>();
                for (Object m : Collections.list(browser.getEnumeration())) {
                    messages.add((Message) m);
                }
                return messages;
            }
        }
    }

    @Test
    void deadLettersGoToTheQueueAndAreListedAndReplayedFromIt() throws Exception {
        byte[] first = "refused at first".getBytes(StandardCharsets.UTF_8);
        byte[] second = "refused as well".getBytes(StandardCharsets.UTF_8);
        int port = HttpSink.freePort();
        try (S3ProxyServer s3 = new S3ProxyServer(); TestObjects objects = new TestObjects(s3, BUCKET);
             HttpSink sink = new HttpSink().otherwise(new Answer(400, Map.of(), "schema violation"))) {
            s3.createBucket(BUCKET);
            String etag = objects.put("bad/input.xml", first, "application/xml");
            objects.put("bad/other file.xml", second, "application/xml");
            Map<String, String> settings = RelayApp.settingsFor(s3, BUCKET, work);
            settings.put("relay.target", "http");
            settings.put("relay.http.url", sink.url("/in/{key}"));
            settings.put("relay.dead-letter", "jms:queue:" + QUEUE);
            settings.put("relay.jms.port", Integer.toString(port));

            try (RelayApp app = RelayApp.start(settings)) {
                await().atMost(Duration.ofSeconds(60)).until(() -> outcome(app.ledger(), "bad/input.xml").isPresent()
                        && outcome(app.ledger(), "bad/other file.xml").isPresent());
                assertThat(outcome(app.ledger(), "bad/input.xml")).contains(Outcome.DEAD);

                List<Message> letters = browse(port);
                assertThat(letters).hasSize(2);
                TextMessage letter = (TextMessage) letters.stream()
                        .filter(m -> key(m).equals("bad/input.xml")).findFirst().orElseThrow();
                assertThat(letter.getJMSDeliveryMode()).isEqualTo(DeliveryMode.PERSISTENT);
                assertThat(letter.getStringProperty("R2RelayBucket")).isEqualTo(BUCKET);
                assertThat(letter.getStringProperty("R2RelayETag")).isEqualTo(etag);
                JsonNode json = new ObjectMapper().readTree(letter.getText());
                assertThat(json.path("bucket").asText()).isEqualTo(BUCKET);
                assertThat(json.path("key").asText()).isEqualTo("bad/input.xml");
                assertThat(json.path("etag").asText()).isEqualTo(etag);
                assertThat(json.path("status").asInt()).isEqualTo(400);
                assertThat(json.path("reason").asText()).contains("HTTP 400", "schema violation");
                assertThat(json.path("attempts").asInt()).isEqualTo(1);
                assertThat(json.path("target").asText()).isEqualTo(sink.url("/in/bad/input.xml"));

                Ran whileRunning = run("dead-letters", settings);
                assertThat(whileRunning.code()).as(whileRunning.err()).isZero();
                assertThat(whileRunning.out()).contains("2 dead letter(s) in queue " + QUEUE
                        + " of the running relay's embedded JMS broker at tcp://127.0.0.1:" + port, "bad/input.xml",
                        "bad/other file.xml", "HTTP 400");
            }

            // the relay is stopped: the command opens the broker's journal itself; the letters survived
            Ran stopped = run("dead-letters", settings);
            assertThat(stopped.code()).as(stopped.err()).isZero();
            assertThat(stopped.out()).contains("2 dead letter(s) in queue " + QUEUE + " of the embedded JMS broker's"
                    + " journal in " + work.resolve("state/artemis"));

            // still refused: dead-lettered again, replacing its letter
            Ran refused = run("replay", settings, "bad/input.xml");
            assertThat(refused.code()).isEqualTo(1);
            assertThat(refused.err()).contains("still failing bad/input.xml", "HTTP 400");
            assertThat(run("dead-letters", settings).out()).contains("2 dead letter(s)");

            sink.otherwise(Answer.of(201));
            Ran replayed = run("replay", settings);
            assertThat(replayed.code()).as(replayed.err()).isZero();
            assertThat(replayed.out()).contains("replayed bad/input.xml -> " + sink.url("/in/bad/input.xml"),
                    "replayed bad/other file.xml", "Replayed 2 dead letter(s) through direct:deliver-http");
            List<HttpSink.Received> received = sink.received();
            assertThat(received.subList(received.size() - 2, received.size())).extracting(HttpSink.Received::sha256)
                    .containsExactlyInAnyOrder(TestObjects.sha256(first), TestObjects.sha256(second));
            Ran empty = run("dead-letters", settings);
            assertThat(empty.out()).contains("No dead letters in queue " + QUEUE);

            try (RelayApp app = RelayApp.start(settings)) {
                assertThat(outcome(app.ledger(), "bad/input.xml")).contains(Outcome.DELIVERED);
                assertThat(browse(port)).isEmpty();
            }
        }
    }

    private static String key(Message m) {
        try {
            return m.getStringProperty("R2RelayKey");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
