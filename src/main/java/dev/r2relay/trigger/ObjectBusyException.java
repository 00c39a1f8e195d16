package dev.r2relay.trigger;

/**
 * A trigger names an object that another delivery (a poll's, another trigger's, another
 * instance's) is delivering now; the trigger's source tries again later, when it is settled.
 */
public final class ObjectBusyException extends RuntimeException {

    public ObjectBusyException(String message) {
        super(message);
    }
}
