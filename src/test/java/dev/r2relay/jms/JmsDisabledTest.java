package dev.r2relay.jms;

import static dev.r2relay.jms.JmsTesting.put;
import static dev.r2relay.jms.JmsTesting.s3;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.r2relay.support.RelayApp;
import dev.r2relay.support.S3ProxyServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.s3.S3Client;

/** The file target (the default) starts no broker, opens no JMS connection, loads no JMS route. */
class JmsDisabledTest {

    @TempDir
    Path work;

    @Test
    void theFileTargetStartsNoBroker() throws Exception {
        try (S3ProxyServer server = new S3ProxyServer(); S3Client s3 = s3(server)) {
            server.createBucket("file-bucket");
            put(s3, "file-bucket", "x.txt", "x".getBytes(StandardCharsets.UTF_8), "text/plain");
            try (RelayApp app = RelayApp.start(RelayApp.settingsFor(server, "file-bucket", work))) {
                await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(work.resolve("inbox/x.txt")));
                var registry = app.camel().getRegistry();
                assertThat(registry.lookupByName("relayJmsBroker")).isNull();
                assertThat(registry.lookupByName("relayJmsConnectionFactory")).isNull();
                // the route's precondition keeps it out, so not even the JMS component is created
                assertThat(app.camel().getRoute("deliver-jms")).isNull();
                assertThat(app.camel().hasComponent("jms")).isNull();
                assertThat(Files.exists(work.resolve("state/artemis"))).isFalse();
                // the embedded broker's threads are named after it (client threads of other tests may linger)
                assertThat(Thread.getAllStackTraces().keySet())
                        .noneMatch(t -> t.getName().contains("activemq-r2-relay"));
            }
        }
    }
}
