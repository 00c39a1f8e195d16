package dev.r2relay.jms;

import static dev.r2relay.jms.JmsTesting.jmsSettings;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.r2relay.config.RelayConfiguration;
import dev.r2relay.support.RelayApp;
import dev.r2relay.support.S3ProxyServer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Start-up checks of the JMS target that name the setting to fix. */
class JmsStartupTest {

    @TempDir
    Path work;

    @Test
    void aTakenPortStopsTheStartNamingTheSetting() throws Exception {
        try (S3ProxyServer server = new S3ProxyServer();
             ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            server.createBucket("port-bucket");
            Map<String, String> settings = jmsSettings(server, "port-bucket", work);
            settings.put("relay.jms.port", Integer.toString(taken.getLocalPort()));
            assertThatThrownBy(() -> RelayApp.start(settings).close())
                    .isInstanceOf(RelayConfiguration.StartupCheckException.class)
                    .hasMessageContaining("cannot listen on 127.0.0.1:" + taken.getLocalPort())
                    .hasMessageContaining("relay.jms.port (RELAY_JMS_PORT)");
        }
    }
}
