package dev.r2relay.delivery;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Writes a stream to a file so that the final name only ever shows a complete, verified file:
 * bytes go to a temporary file in the same folder, are checked against the expected size and
 * MD5, forced to disk, then renamed over the final name in one atomic step.
 */
public final class AtomicFileWriter {

    /** Temporary files are hidden and end in this, so readers of the inbox can skip them. */
    public static final String TEMP_SUFFIX = ".r2relay-part";
    private static final Pattern MD5_ETAG = Pattern.compile("[0-9a-fA-F]{32}");
    private static final int BUFFER = 256 * 1024;

    private AtomicFileWriter() {
    }

    /** What was written: the byte count and the MD5 of the bytes, lowercase hex. */
    public record Written(long size, String md5) {
    }

    /**
     * Streams {@code in} into {@code target}. {@code expectedSize} below 0 and a null or non-MD5
     * {@code etag} (multipart objects) skip those checks. Nothing is left under the final name
     * when a check fails or the stream breaks.
     */
    public static Written write(InputStream in, Path target, long expectedSize, String etag) throws IOException {
        Path folder = target.getParent();
        createFolders(folder);
        Path temp = folder.resolve("." + UUID.randomUUID() + TEMP_SUFFIX);
        MessageDigest md5 = md5();
        long size = 0;
        try {
            try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                byte[] buffer = new byte[BUFFER];
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    md5.update(buffer, 0, n);
                    ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, n);
                    while (chunk.hasRemaining()) {
                        out.write(chunk);
                    }
                    size += n;
                }
                out.force(true);
            }
            String digest = HexFormat.of().formatHex(md5.digest());
            verify(size, expectedSize, digest, etag);
            commit(temp, target);
            return new Written(size, digest);
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    /** Throws when the size or, for an MD5 ETag, the digest differs from what the store says. */
    static void verify(long size, long expectedSize, String md5Hex, String etag) throws IntegrityException {
        if (expectedSize >= 0 && size != expectedSize) {
            throw new IntegrityException("received " + size + " bytes, expected " + expectedSize);
        }
        if (md5Hex != null && isMd5(etag) && !etag.equalsIgnoreCase(md5Hex)) {
            throw new IntegrityException("MD5 " + md5Hex + " does not match the ETag " + etag);
        }
    }

    /** True when the ETag is the MD5 of the content (single-part uploads), so it can be checked. */
    static boolean isMd5(String etag) {
        return etag != null && MD5_ETAG.matcher(etag).matches();
    }

    /** Renames a complete, verified temporary file over {@code target} in one step and makes it durable. */
    static void commit(Path temp, Path target) throws IOException {
        if (Files.isDirectory(target)) {
            throw new FileAlreadyExistsException(target.toString(), null, "a folder has this name");
        }
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot rename atomically within " + target.getParent() + ": " + e.getMessage(), e);
        }
        syncFolder(target.getParent());
    }

    static void createFolders(Path folder) throws IOException {
        try {
            Files.createDirectories(folder);
        } catch (FileAlreadyExistsException e) {
            throw new NotDirectoryException(e.getFile() + " is a file, so it cannot hold a folder");
        }
    }

    /** Makes the rename itself durable; a no-op where the platform cannot open folders. */
    private static void syncFolder(Path folder) {
        try (FileChannel dir = FileChannel.open(folder, StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // LIMITATION: some platforms (Windows) cannot fsync a folder; the rename is then durable
            // only once the OS flushes it.
        }
    }

    static MessageDigest md5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("MD5 is not available", e);
        }
    }

    /** The bytes received do not match what the store says the object holds. */
    public static final class IntegrityException extends IOException {
        public IntegrityException(String message) {
            super(message);
        }
    }
}
