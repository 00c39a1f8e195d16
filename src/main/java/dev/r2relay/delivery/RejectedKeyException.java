package dev.r2relay.delivery;

/** A key that a target cannot take as it is (unsafe path, name too long, folder conflict). */
public final class RejectedKeyException extends RuntimeException {

    public RejectedKeyException(String key, String reason) {
        super("key '" + printable(key) + "' rejected: " + reason);
    }

    /** The key with control characters shown as \\uXXXX so that a log line stays one line. */
    public static String printable(String key) {
        StringBuilder b = new StringBuilder(key.length());
        key.codePoints().forEach(cp -> {
            if (Character.isISOControl(cp)) {
                b.append(String.format("\\u%04x", cp));
            } else {
                b.appendCodePoint(cp);
            }
        });
        return b.toString();
    }
}
