package dev.r2relay.deadletter;

/** A failure a target describes itself for its dead letter: the target's status code, if any, and why. */
public interface TargetFailure {

    /** The target's status code when it answered (an HTTP status), else null. */
    Integer status();

    /** One line saying what went wrong, without credentials. */
    String reason();
}
