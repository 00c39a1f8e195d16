package dev.r2relay.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.r2relay.config.RelayConfiguration.StartupCheckException;
import dev.r2relay.support.RelayApp;
import dev.r2relay.support.S3ProxyServer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A start-up check that fails must not leave the ledger open behind it. */
class FailedStartTest {

    @TempDir
    Path work;

    @Test
    void failedBucketCheckClosesTheLedger() throws Exception {
        try (S3ProxyServer server = new S3ProxyServer()) {
            Throwable thrown = catchThrowable(() ->
                    RelayApp.start(RelayApp.settingsFor(server, "no-such-bucket", work)).close());
            assertThat(thrown).isInstanceOf(StartupCheckException.class).hasMessageContaining("no-such-bucket");
            assertLedgerClosed();
        }
    }

    @Test
    void aTargetNoRouteServesClosesTheLedger() throws Exception {
        try (S3ProxyServer server = new S3ProxyServer()) {
            server.createBucket("targets");
            Map<String, String> settings = RelayApp.settingsFor(server, "targets", work);
            settings.put("relay.target", "nowhere");
            Throwable thrown = catchThrowable(() -> RelayApp.start(settings).close());
            assertThat(thrown).hasStackTraceContaining("no route consumes direct:deliver-nowhere");
            assertLedgerClosed();
        }
    }

    private void assertLedgerClosed() throws Exception {
        // H2 lists every open session of the database; only this probe's should remain
        String url = "jdbc:h2:file:" + work.resolve("state/ledger") + ";IFEXISTS=TRUE";
        try (Connection c = DriverManager.getConnection(url, "relay", "");
             Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM INFORMATION_SCHEMA.SESSIONS")) {
            rs.next();
            assertThat(rs.getInt(1)).as("open ledger sessions besides this probe").isEqualTo(1);
        }
    }
}
