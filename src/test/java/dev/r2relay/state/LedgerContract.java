package dev.r2relay.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** What every ledger must do, whatever holds it; {@link DeliveryLedgerTest} and {@link PostgresLedgerTest} run it. */
abstract class LedgerContract {

    /** Opens the ledger under test; a second call opens the same store again. */
    abstract DeliveryLedger open();

    @Test
    void recordsFromManyThreadsAtOnceAreAllKeptAcrossAReopen() throws Exception {
        int threads = 16;
        int perThread = 125;
        try (DeliveryLedger ledger = open()) {
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
        try (DeliveryLedger reopened = open()) {
            assertThat(reopened.count()).isEqualTo((long) threads * perThread);
            assertThat(reopened.entry("b", "k/7/99")).hasValueSatisfying(e -> {
                assertThat(e.etag()).isEqualTo("etag-99");
                assertThat(e.outcome()).isEqualTo(DeliveryLedger.Outcome.DELIVERED);
            });
        }
    }

    @Test
    void aLaterRecordOfTheSameKeyReplacesTheEarlierOne() {
        try (DeliveryLedger ledger = open()) {
            ledger.recordDelivered("b", "k", "v1", 1, "inbox/k");
            ledger.recordDelivered("b", "k", "v2", 2, "inbox/k");
            assertThat(ledger.recordedEtag("b", "k")).isEqualTo("v2");
            assertThat(ledger.count()).isEqualTo(1);
        }
    }

    @Test
    void settledNamesOnlyKeysRecordedAtTheirListedEtagInTheirOwnBucket() {
        try (DeliveryLedger ledger = open()) {
            // more keys than one lookup batch holds, so the batches are stitched together too
            for (int i = 0; i < 1200; i++) {
                ledger.recordDelivered("b", key(i), "e" + i, 1, "inbox/x");
            }
            ledger.recordDelivered("other", "only-elsewhere", "e", 1, "inbox/y");
            ledger.recordRejected("b", "dir/ä ö+%", "r1", "unsafe");
            List<ObjectRef> listed = new ArrayList<>();
            for (int i = 0; i < 1300; i++) {
                // every tenth key was overwritten since (another ETag); keys 1200.. were never seen
                String etag = i % 10 == 0 ? "changed" : "e" + i;
                listed.add(new ObjectRef("b", key(i), etag, 1, null, false));
            }
            listed.add(new ObjectRef("b", "only-elsewhere", "e", 1, null, false));
            listed.add(new ObjectRef("b", "dir/ä ö+%", "r1", 1, null, false));

            Set<String> expected = IntStream.range(0, 1200).filter(i -> i % 10 != 0)
                    .mapToObj(LedgerContract::key).collect(Collectors.toSet());
            expected.add("dir/ä ö+%");
            assertThat(ledger.settled("b", listed)).isEqualTo(expected);
        }
    }

    private static String key(int i) {
        return String.format("logs/%05d.json", i);
    }
}
