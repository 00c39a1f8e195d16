package dev.r2relay.state;

/** The delivery record cannot be opened, read or written; the message names relay.state. */
public final class LedgerException extends RuntimeException {

    public LedgerException(String message, Throwable cause) {
        super(message, cause);
    }
}
