package dev.r2relay.delivery;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Maps an object key to a path below the inbox, keeping the key's folders, or rejects it. A key
 * never lands outside the inbox: '..' and '.' segments, a leading '/', backslashes, NUL and
 * drive letters are refused, as are segments over the file system's 255-byte name limit and
 * empty segments ({@code a//b}), so that two keys never share one file.
 */
public final class SafeKeyPaths {

    /** The longest file name Linux, macOS and Windows file systems take, in bytes. */
    public static final int MAX_NAME_BYTES = 255;
    /** The longest path Linux takes, in bytes. */
    public static final int MAX_PATH_BYTES = 4095;

    private SafeKeyPaths() {
    }

    /** The path of {@code key} below {@code inbox}, or a {@link RejectedKeyException} saying why not. */
    public static Path resolve(Path inbox, String key) {
        String reason = keyReason(key);
        if (reason != null) {
            throw new RejectedKeyException(key, reason);
        }
        Path root = inbox.toAbsolutePath().normalize();
        Path target = root;
        for (String segment : key.split("/", -1)) {
            target = target.resolve(segment);
        }
        target = target.normalize();
        if (!target.startsWith(root) || target.equals(root)) {
            throw new RejectedKeyException(key, "it would land outside the inbox");
        }
        if (target.toString().getBytes(StandardCharsets.UTF_8).length > MAX_PATH_BYTES) {
            throw new RejectedKeyException(key, "the path would be longer than " + MAX_PATH_BYTES + " bytes");
        }
        return target;
    }

    /**
     * Whether every inbox refuses {@code key}, whatever the inbox's own path: the checks of
     * {@link #resolve} that look at the key alone.
     */
    public static boolean refusesAnywhere(String key) {
        return keyReason(key) != null;
    }

    /** Why no inbox can take {@code key} (its characters, its segments, their length), or null. */
    private static String keyReason(String key) {
        String reason = unsafeReason(key);
        if (reason != null) {
            return reason;
        }
        for (String segment : key.split("/", -1)) {
            if (segment.getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
                return "a path segment is longer than " + MAX_NAME_BYTES + " bytes";
            }
        }
        return null;
    }

    private static String unsafeReason(String key) {
        if (key.isEmpty()) {
            return "it is empty";
        }
        if (key.indexOf('\0') >= 0) {
            return "it contains a NUL character";
        }
        if (key.indexOf('\\') >= 0) {
            return "it contains a backslash";
        }
        if (key.startsWith("/")) {
            return "it starts with '/'";
        }
        if (key.length() >= 2 && key.charAt(1) == ':' && Character.isLetter(key.charAt(0))) {
            return "it starts with a drive letter";
        }
        if (key.endsWith("/")) {
            return "it is a folder marker";
        }
        // An empty segment is refused, not collapsed: collapsing put a//b and a/b in one file and
        // the last writer won silently. A stand-in folder name would be clean only if no ordinary
        // segment could produce it, and every portable name can ('%2F', '(empty)', '_' are all
        // valid keys); the only usable names no accepted key maps to hold a backslash, which Windows
        // cannot store. Rejecting is deterministic and keeps the object in the bucket.
        if (key.contains("//")) {
            return "an empty path segment ('//') has no file path of its own";
        }
        for (String segment : key.split("/", -1)) {
            if (segment.equals("..")) {
                return "it has a '..' segment";
            }
            if (segment.equals(".")) {
                return "it has a '.' segment";
            }
        }
        return null;
    }
}
