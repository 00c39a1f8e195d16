package dev.r2relay.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeliveryLedgerTest {

    @TempDir
    Path state;

    @Test
    void recordsFromManyThreadsAtOnceAreAllKeptAcrossAReopen() throws Exception {
        int threads = 16;
        int perThread = 125;
        try (DeliveryLedger ledger = DeliveryLedger.open(state.toString())) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int thread = t;
                    done.add(pool.submit(() -> {
                        for (int i = 0; i < perThread; i++) {
                            ledger.recordDelivered("b", "k/" + thread + "/" + i, "etag-" + i, i, "inbox/x");
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get();
                }
            } finally {
                pool.shutdown();
            }
            assertThat(ledger.count()).isEqualTo((long) threads * perThread);
        }
        try (DeliveryLedger reopened = DeliveryLedger.open(state.toString())) {
            assertThat(reopened.count()).isEqualTo((long) threads * perThread);
            assertThat(reopened.entry("b", "k/7/99")).hasValueSatisfying(e -> {
                assertThat(e.etag()).isEqualTo("etag-99");
                assertThat(e.outcome()).isEqualTo(DeliveryLedger.Outcome.DELIVERED);
            });
        }
    }

    @Test
    void aLaterRecordOfTheSameKeyReplacesTheEarlierOne() {
        try (DeliveryLedger ledger = DeliveryLedger.open(state.toString())) {
            ledger.recordDelivered("b", "k", "v1", 1, "inbox/k");
            ledger.recordDelivered("b", "k", "v2", 2, "inbox/k");
            assertThat(ledger.recordedEtag("b", "k")).isEqualTo("v2");
            assertThat(ledger.count()).isEqualTo(1);
        }
    }
}
