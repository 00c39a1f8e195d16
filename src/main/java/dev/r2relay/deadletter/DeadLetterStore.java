package dev.r2relay.deadletter;

import java.io.IOException;
import java.util.List;

/**
 * Where dead letters go, chosen by {@code relay.dead-letter} (see {@link DeadLetterStores}): a
 * folder ({@link FolderDeadLetterStore}) or a JMS queue ({@link JmsDeadLetterStore}). A store that
 * cannot be listed from here reports {@link #browsable()} false: the commands then point at it
 * instead of listing or replaying from it.
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

    /** True when the letters can be listed and removed from here (a folder, a queue). */
    default boolean browsable() {
        return true;
    }
}
