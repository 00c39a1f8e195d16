package dev.r2relay.poll;

import dev.r2relay.support.MotoServer;
import dev.r2relay.support.S3Server;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The poller contract against moto_server on a free port. moto accepts any credentials and
 * cannot count requests, so the tests that need either skip here and say why.
 */
class MotoPollerIT extends PollerContract {

    private static MotoServer server;
    private static String unavailable;

    @BeforeAll
    static void startServer() throws Exception {
        Optional<Path> executable = MotoServer.find();
        if (executable.isEmpty()) {
            unavailable = "moto_server not on PATH (" + System.getenv("PATH") + "): install it with"
                    + " pip install 'moto[server]' to run the contract against moto";
            return;
        }
        server = MotoServer.start(executable.get());
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
