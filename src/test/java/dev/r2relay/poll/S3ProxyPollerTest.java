package dev.r2relay.poll;

import dev.r2relay.support.S3ProxyServer;
import dev.r2relay.support.S3Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The poller contract against S3Proxy in-process: real SigV4, and it counts GETs and lists. */
class S3ProxyPollerTest extends PollerContract {

    private static S3ProxyServer server;

    @BeforeAll
    static void startServer() {
        server = new S3ProxyServer();
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    @Override
    protected S3Server server() {
        return server;
    }
}
