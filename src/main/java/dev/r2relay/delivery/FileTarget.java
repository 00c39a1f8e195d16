package dev.r2relay.delivery;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.stream.Stream;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers objects into the inbox folder: {@link #plan} picks a safe path before anything is
 * downloaded, {@link #write} streams the body there atomically and verifies it.
 */
public final class FileTarget {

    /** The header holding the planned, then written, file. */
    public static final String FILE = "R2RelayFile";
    private static final Logger LOG = LoggerFactory.getLogger(FileTarget.class);

    private final Path inbox;

    public FileTarget(Path inbox) {
        this.inbox = inbox.toAbsolutePath().normalize();
    }

    public Path inbox() {
        return inbox;
    }

    /**
     * Maps the key to its file, or throws {@link RejectedKeyException}. A key that is also the
     * folder of other keys is rejected (the folder wins), and a file never replaces a folder nor
     * a folder a file already in the inbox: nothing delivered is removed to make room.
     */
    public void plan(Exchange exchange) {
        Message m = exchange.getMessage();
        String key = m.getHeader(RelayHeaders.KEY, String.class);
        Path file = SafeKeyPaths.resolve(inbox, key);
        if (Boolean.TRUE.equals(m.getHeader(RelayHeaders.FOLDER_OF_OTHERS, Boolean.class))) {
            throw new RejectedKeyException(key, "other keys continue it with '/', so it is their folder"
                    + " (the folder wins)");
        }
        if (Files.isDirectory(file)) {
            throw new RejectedKeyException(key, "the inbox already has a folder at " + inbox.relativize(file));
        }
        for (Path p = file.getParent(); p != null && p.startsWith(inbox) && !p.equals(inbox); p = p.getParent()) {
            if (Files.exists(p) && !Files.isDirectory(p)) {
                throw new RejectedKeyException(key, "the inbox already has a file at " + inbox.relativize(p)
                        + " where its folder should be");
            }
        }
        m.setHeader(FILE, file);
        m.setHeader(RelayHeaders.TARGET, "file:" + file);
    }

    /**
     * Streams the body (the object's bytes) to the planned file, then closes the body. A failure
     * of the inbox rather than of the body (read-only, full disk) is an {@link InboxWriteException}.
     */
    public void write(Exchange exchange) throws IOException {
        Message m = exchange.getMessage();
        Path file = m.getHeader(FILE, Path.class);
        Long size = m.getHeader(RelayHeaders.SIZE, Long.class);
        String etag = m.getHeader(RelayHeaders.ETAG, String.class);
        try (ReadWatch body = new ReadWatch(m.getMandatoryBody(InputStream.class))) {
            try {
                AtomicFileWriter.write(body, file, size == null ? -1 : size, etag);
            } catch (AtomicFileWriter.IntegrityException e) {
                throw e;
            } catch (IOException e) {
                if (body.failed || e instanceof NotDirectoryException) {
                    throw e;
                }
                throw new InboxWriteException(inbox, m.getHeader(RelayHeaders.KEY, String.class), e);
            }
        } catch (org.apache.camel.InvalidPayloadException e) {
            throw new IOException("no object body to write to " + file, e);
        }
        m.setBody(null);
    }

    /**
     * Says whether an existing inbox takes files (one that does not exist yet is made by the first
     * delivery); a problem is logged at start-up. Returns the reason it does not, or null.
     */
    public String unwritableReason() {
        if (!Files.exists(inbox)) {
            return null;
        }
        if (!Files.isDirectory(inbox)) {
            return "it is a file, not a folder";
        }
        try {
            Path probe = Files.createTempFile(inbox, ".r2relay-probe-", AtomicFileWriter.TEMP_SUFFIX);
            Files.delete(probe);
            return null;
        } catch (IOException e) {
            return InboxWriteException.reason(e, false);
        }
    }

    /** Notes whether a failure came from reading the body rather than from writing the file. */
    private static final class ReadWatch extends FilterInputStream {
        private boolean failed;

        ReadWatch(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            try {
                return super.read();
            } catch (IOException | RuntimeException e) {
                failed = true;
                throw e;
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return super.read(b, off, len);
            } catch (IOException | RuntimeException e) {
                failed = true;
                throw e;
            }
        }
    }

    /**
     * Removes temporary files a crash left in the inbox; run once at start-up. A large object's
     * temporary file stays when its progress file says which parts are written: it resumes. Only
     * files unchanged for {@code olderThan} go: instances that share the inbox may be writing the
     * younger ones.
     */
    public int sweepTemporaryFiles(Duration olderThan) {
        if (!Files.isDirectory(inbox)) {
            return 0;
        }
        int removed = 0;
        FileTime cutoff = FileTime.from(Instant.now().minus(olderThan));
        try (Stream<Path> files = Files.find(inbox, Integer.MAX_VALUE, (p, attrs) -> isTemporary(p, attrs)
                && attrs.lastModifiedTime().compareTo(cutoff) <= 0)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (!Files.exists(progressFileOf(p))) {
                    Files.deleteIfExists(p);
                    removed++;
                }
            }
        } catch (IOException e) {
            LOG.warn("Could not sweep temporary files from {}: {}", inbox, e.getMessage());
        }
        if (removed > 0) {
            LOG.info("Removed {} partial file(s) an interrupted run left in {}", removed, inbox);
        }
        return removed;
    }

    private static Path progressFileOf(Path temp) {
        String name = temp.getFileName().toString();
        return temp.resolveSibling(name.substring(0, name.length() - AtomicFileWriter.TEMP_SUFFIX.length())
                + RangedDownload.PROGRESS_SUFFIX);
    }

    private static boolean isTemporary(Path p, BasicFileAttributes attrs) {
        String name = p.getFileName().toString();
        return attrs.isRegularFile() && name.startsWith(".") && name.endsWith(AtomicFileWriter.TEMP_SUFFIX);
    }
}
