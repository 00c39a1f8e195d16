package dev.r2relay.deadletter;

import java.io.IOException;
import java.util.List;

/**
 * Where dead letters go, chosen by {@code relay.dead-letter} in {@link DeadLetterStores#open}.
 * A folder today. A queue variant implements {@link #put} and reports {@link #browsable()} false:
 * the commands then point at the queue instead of listing or replaying from it.
 */
public interface DeadLetterStore {

    /** Where the letters are, for logs and command output (never a credential). */
    String describe();

    /** Stores the letter durably, replacing an earlier one for the same bucket and key. */
    void put(DeadLetter letter) throws IOException;

    /** Removes the letter for bucket and key, if there is one; true when one was removed. */
    boolean remove(String bucket, String key) throws IOException;

    /** Every stored letter, oldest first. Only for browsable stores. */
    List<DeadLetter> list() throws IOException;

    /** True when the letters can be listed and removed from here (a folder), false for a queue. */
    default boolean browsable() {
        return true;
    }
}
