package dev.r2relay.state;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The embedded ledger (H2 in a folder) against the ledger contract. */
class DeliveryLedgerTest extends LedgerContract {

    @TempDir
    Path state;

    @Override
    DeliveryLedger open() {
        return DeliveryLedger.open(state.toString());
    }
}
