package dev.r2relay.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.r2relay.support.PostgresSchema;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The ledger in PostgreSQL (relay.state=jdbc:postgresql://...), in a schema of the test's own. */
class PostgresLedgerTest extends LedgerContract {

    private PostgresSchema schema;

    @BeforeEach
    void createSchema() {
        schema = PostgresSchema.create();
    }

    @AfterEach
    void dropSchema() throws Exception {
        schema.close();
    }

    @Override
    DeliveryLedger open() {
        return DeliveryLedger.open(schema.url(), PostgresSchema.USER, null);
    }

    @Test
    void instancesStartingTogetherCreateTheTablesOnce() throws Exception {
        int instances = 6;
        CyclicBarrier start = new CyclicBarrier(instances);
        ExecutorService pool = Executors.newFixedThreadPool(instances);
        List<Future<DeliveryLedger>> opened = new ArrayList<>();
        try {
            for (int i = 0; i < instances; i++) {
                Callable<DeliveryLedger> openTogether = () -> {
                    start.await();
                    return open();
                };
                opened.add(pool.submit(openTogether));
            }
            List<DeliveryLedger> ledgers = new ArrayList<>();
            for (Future<DeliveryLedger> f : opened) {
                ledgers.add(f.get());
            }
            ledgers.get(0).recordDelivered("b", "k", "e", 1, "inbox/k");
            for (DeliveryLedger l : ledgers) {
                assertThat(l.shared()).isTrue();
                assertThat(l.recordedEtag("b", "k")).isEqualTo("e");
                l.close();
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(schema.queryLong("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '"
                + schema.name() + "'")).as("relay_ledger, relay_cursor, relay_claim").isEqualTo(3);
    }

    @Test
    void aRefusedUserFailsNamingTheSettingsAndNeverThePassword() {
        assertThatThrownBy(() -> DeliveryLedger.open(schema.url(), "no_such_relay_user", "s3cr3t-Pa55"))
                .isInstanceOf(LedgerException.class)
                .hasMessageContaining("relay.state (RELAY_STATE)")
                .hasMessageContaining("PostgreSQL 127.0.0.1:5432/test (schema " + schema.name() + ")")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("s3cr3t-Pa55"));
    }

    @Test
    void aServerThatDoesNotAnswerFailsNamingTheStore() {
        assertThatThrownBy(() -> DeliveryLedger.open("jdbc:postgresql://127.0.0.1:1/test?connectTimeout=2",
                PostgresSchema.USER, null))
                .isInstanceOf(LedgerException.class)
                .hasMessageContaining("relay.state (RELAY_STATE): cannot open the ledger PostgreSQL 127.0.0.1:1/test")
                .hasMessageContaining("refused");
    }
}
