package dev.r2relay.trigger;

/** A trigger message r2-relay cannot read; retrying it cannot help. */
public final class InvalidTriggerException extends RuntimeException {

    public InvalidTriggerException(String message) {
        super(message);
    }
}
