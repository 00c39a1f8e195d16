package dev.r2relay.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.r2relay.support.RelayApp;
import dev.r2relay.support.RelayHttp;
import dev.r2relay.support.S3ProxyServer;
import java.net.ConnectException;
import java.nio.file.Path;
import java.util.Map;
import org.apache.camel.ServiceStatus;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** With the default settings r2-relay opens no port and its HTTP trigger route does not start. */
class HttpServerOffTest {

    private static final String BUCKET = "http-off";
    private static S3ProxyServer server;

    @TempDir
    Path work;

    @BeforeAll
    static void startServer() {
        server = new S3ProxyServer();
        server.createBucket(BUCKET);
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @Test
    void byDefaultNothingListensAndTheTriggerRouteIsStopped() throws Exception {
        int port = RelayHttp.freePort();
        Map<String, String> settings = RelayApp.settingsFor(server, BUCKET, work);
        // the port is named but the server is not enabled
        settings.put("relay.http-server.port", Integer.toString(port));
        try (RelayApp app = RelayApp.start(settings)) {
            assertThatThrownBy(() -> new RelayHttp(port).get("/observe/health"))
                    .isInstanceOf(ConnectException.class);
            assertThat(app.camel().hasService(VertxPlatformHttpServer.class)).isNull();
            assertThat(app.camel().getRouteController().getRouteStatus("trigger-http"))
                    .isEqualTo(ServiceStatus.Stopped);
            assertThat(app.camel().getRouteController().getRouteStatus("deliver-http-triggers"))
                    .isEqualTo(ServiceStatus.Stopped);
        }
    }

    @Test
    void theHttpTriggerWithoutTheServerStopsTheStartWithTheSettingToFix() {
        Map<String, String> settings = RelayApp.settingsFor(server, BUCKET, work);
        settings.put("relay.trigger.http.enabled", "true");
        assertThatThrownBy(() -> RelayApp.start(settings).close())
                .hasStackTraceContaining("relay.trigger.http.enabled (RELAY_TRIGGER_HTTP_ENABLED) needs the HTTP"
                        + " server: set relay.http-server.enabled=true");
    }
}
