package dev.r2relay.poll;

import dev.r2relay.support.LocalStackServer;
import dev.r2relay.support.S3Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The poller contract against LocalStack's S3 in Docker; skipped where no Docker engine answers. */
class LocalStackPollerIT extends PollerContract {

    private static LocalStackServer server;
    private static String unavailable;

    @BeforeAll
    static void startServer() {
        if (!LocalStackServer.dockerAvailable()) {
            unavailable = "no Docker engine answers here, so LocalStack (" + LocalStackServer.IMAGE
                    + ") cannot start";
            return;
        }
        server = LocalStackServer.start();
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

    @Override
    protected String unavailableReason() {
        return unavailable;
    }
}
