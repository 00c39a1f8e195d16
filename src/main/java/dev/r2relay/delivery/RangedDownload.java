package dev.r2relay.delivery;

import dev.r2relay.client.RequestCounter;
import dev.r2relay.client.ResumingBodies;
import dev.r2relay.client.ResumingBody;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Fetches a large object as byte ranges in parallel, each written in place into a temporary file
 * beside the target. Finished parts are recorded in a progress file, so an interrupted transfer
 * resumes with the parts still missing, provided the object's ETag has not changed (every range
 * is requested with If-Match). The size, and the MD5 where the ETag is one, are checked before
 * the file is renamed into place.
 */
public final class RangedDownload {

    static final String PROGRESS_SUFFIX = ".r2relay-parts";
    private static final Logger LOG = LoggerFactory.getLogger(RangedDownload.class);
    private static final int BUFFER = 256 * 1024;
    /** Written parts are forced to disk together once they hold this much (or an eighth of the object). */
    private static final long SYNC_EVERY = 64L << 20;
    private static final AtomicInteger THREADS = new AtomicInteger();

    private final S3Client s3;
    private final long partSize;
    private final int partConcurrency;
    private final ResumingBodies bodies;

    /** Without resumes: a range whose transfer breaks fails the download (its progress is kept). */
    public RangedDownload(S3Client s3, long partSize, int partConcurrency) {
        this(s3, partSize, partConcurrency, new ResumingBodies(s3, new RequestCounter(), 0));
    }

    /** Each range is read through {@code bodies}, which resumes a broken transfer (see {@link ResumingBody}). */
    public RangedDownload(S3Client s3, long partSize, int partConcurrency, ResumingBodies bodies) {
        this.s3 = s3;
        this.partSize = partSize;
        this.partConcurrency = partConcurrency;
        this.bodies = bodies;
    }

    /** Downloads the object the headers name to the file {@link FileTarget#plan} chose. */
    public void download(Exchange exchange) throws IOException, InterruptedException {
        Message m = exchange.getMessage();
        String bucket = m.getHeader(RelayHeaders.BUCKET, String.class);
        String key = m.getHeader(RelayHeaders.KEY, String.class);
        String etag = m.getHeader(RelayHeaders.ETAG, String.class);
        long size = m.getHeader(RelayHeaders.SIZE, Long.class);
        Path target = m.getHeader(FileTarget.FILE, Path.class);
        download(bucket, key, etag, size, target);
    }

    void download(String bucket, String key, String etag, long size, Path target)
            throws IOException, InterruptedException {
        Path folder = target.getParent();
        AtomicFileWriter.createFolders(folder);
        String id = HexFormat.of().formatHex(sha256(bucket + '\u0000' + key + '\u0000' + etag)).substring(0, 32);
        Path temp = folder.resolve("." + id + AtomicFileWriter.TEMP_SUFFIX);
        Path progressFile = folder.resolve("." + id + PROGRESS_SUFFIX);
        int parts = (int) ((size + partSize - 1) / partSize);
        Progress progress = Progress.load(progressFile, etag, size, partSize, parts);
        int resumed = progress.done.cardinality();
        if (resumed > 0 && Files.exists(temp)) {
            LOG.info("resuming {}/{}: {} of {} parts already written", bucket, RejectedKeyException.printable(key),
                    resumed, parts);
        } else {
            progress.done.clear();
        }
        try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.READ)) {
            if (out.size() > size) {
                out.truncate(size);
            }
            try {
                fetchMissingParts(bucket, key, etag, size, parts, progress, out, folder);
            } catch (ObjectChangedException | InboxWriteException e) {
                // the parts belong to a version that is gone, or hold space a full disk needs: drop them
                progress.abandon();
                out.close();
                discard(temp, progressFile);
                throw e;
            }
            out.force(true);
            String md5 = AtomicFileWriter.isMd5(etag) ? md5(out) : null;
            try {
                AtomicFileWriter.verify(out.size(), size, md5, etag);
            } catch (AtomicFileWriter.IntegrityException e) {
                discard(temp, progressFile);
                throw e;
            }
        }
        AtomicFileWriter.commit(temp, target);
        Files.deleteIfExists(progressFile);
    }

    private void fetchMissingParts(String bucket, String key, String etag, long size, int parts, Progress progress,
                                   FileChannel out, Path folder) throws IOException, InterruptedException {
        ExecutorService pool = Executors.newFixedThreadPool(partConcurrency, r -> {
            Thread t = new Thread(r, "relay-range-" + THREADS.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<?>> pending = new ArrayList<>();
            for (int part = 0; part < parts; part++) {
                if (progress.done.get(part)) {
                    continue;
                }
                int index = part;
                pending.add(pool.submit(() -> {
                    long start = index * partSize;
                    long end = Math.min(size, start + partSize) - 1;
                    fetchRange(bucket, key, etag, start, end, out, folder);
                    progress.written(index, end - start + 1, out);
                    return null;
                }));
            }
            for (Future<?> f : pending) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    pending.forEach(p -> p.cancel(true));
                    Throwable cause = e.getCause();
                    if (changed(cause)) {
                        throw new ObjectChangedException("'" + key + "' changed during the download (ETag is no"
                                + " longer " + etag + "); the new version is fetched at the next poll", cause);
                    }
                    if (cause instanceof IOException io) {
                        throw io;
                    }
                    if (cause instanceof RuntimeException re) {
                        throw re;
                    }
                    throw new IOException(cause);
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private void fetchRange(String bucket, String key, String etag, long start, long end, FileChannel out,
                            Path folder) throws IOException {
        ResponseInputStream<GetObjectResponse> first = s3.getObject(b -> b.bucket(bucket).key(key)
                .range("bytes=" + start + "-" + end).ifMatch('"' + etag + '"'));
        try (InputStream in = bodies.wrap(bucket, key, etag, start, end - start + 1, first)) {
            long position = start;
            byte[] buffer = new byte[BUFFER];
            int n;
            while ((n = in.read(buffer)) >= 0) {
                ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, n);
                try {
                    while (chunk.hasRemaining()) {
                        position += out.write(chunk, position);
                    }
                } catch (java.nio.channels.ClosedChannelException e) {
                    throw e; // another range failed first and closed the file
                } catch (IOException e) {
                    throw new InboxWriteException(folder, key, e);
                }
            }
            long expected = end - start + 1;
            if (position - start != expected) {
                throw new AtomicFileWriter.IntegrityException("range " + start + "-" + end + " of '" + key
                        + "' returned " + (position - start) + " bytes, expected " + expected);
            }
        }
    }

    /** A 412 answer to If-Match, directly or behind a resume's IOException. */
    private static boolean changed(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof S3Exception s3e && s3e.statusCode() == 412) {
                return true;
            }
        }
        return false;
    }

    /** The object's ETag changed while its ranges were being fetched. */
    static final class ObjectChangedException extends IOException {
        ObjectChangedException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static String md5(FileChannel file) throws IOException {
        MessageDigest md5 = AtomicFileWriter.md5();
        ByteBuffer buffer = ByteBuffer.allocate(BUFFER);
        long position = 0;
        int n;
        while ((n = file.read(buffer, position)) > 0) {
            buffer.flip();
            md5.update(buffer);
            buffer.clear();
            position += n;
        }
        return HexFormat.of().formatHex(md5.digest());
    }

    private static void discard(Path temp, Path progressFile) throws IOException {
        Files.deleteIfExists(temp);
        Files.deleteIfExists(progressFile);
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Which parts are durably written, kept in a small file beside the temporary file. */
    private static final class Progress {
        private final Path file;
        private final String header;
        private final BitSet done;
        private final int parts;
        private final long syncEvery;
        private final BitSet unsynced = new BitSet();
        private long unsyncedBytes;
        private boolean abandoned;

        private Progress(Path file, String header, BitSet done, int parts, long syncEvery) {
            this.file = file;
            this.header = header;
            this.done = done;
            this.parts = parts;
            this.syncEvery = syncEvery;
        }

        static Progress load(Path file, String etag, long size, long partSize, int parts) throws IOException {
            String header = "etag=" + etag + " size=" + size + " part-size=" + partSize;
            BitSet done = new BitSet(parts);
            if (Files.exists(file)) {
                List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
                if (lines.size() == 2 && lines.get(0).equals(header) && lines.get(1).length() == parts) {
                    for (int i = 0; i < parts; i++) {
                        done.set(i, lines.get(1).charAt(i) == '1');
                    }
                }
            }
            // a resume loses at most about an eighth of the object, and at most 64 MiB beyond one part
            return new Progress(file, header, done, parts, Math.max(partSize, Math.min(SYNC_EVERY, size / 8)));
        }

        /** From now on nothing is written: a part still in flight must not bring the file back. */
        synchronized void abandon() {
            abandoned = true;
        }

        /**
         * A part's bytes are in the file, not yet on disk. Parts are forced to disk in groups of at
         * least {@link #syncEvery} bytes (one force for many parts: each force stalls the other
         * parts' writes), and marked done only once a force that began after they were written has
         * returned; a part not yet marked is fetched again by a resumed download.
         */
        void written(int part, long bytes, FileChannel out) throws IOException {
            BitSet durable;
            synchronized (this) {
                if (abandoned) {
                    return;
                }
                unsynced.set(part);
                unsyncedBytes += bytes;
                if (unsyncedBytes < syncEvery && unsynced.cardinality() + done.cardinality() < parts) {
                    return;
                }
                durable = (BitSet) unsynced.clone();
                unsynced.clear();
                unsyncedBytes = 0;
            }
            out.force(false);
            markDone(durable);
        }

        private synchronized void markDone(BitSet durable) throws IOException {
            if (abandoned) {
                return;
            }
            done.or(durable);
            StringBuilder bits = new StringBuilder(parts);
            for (int i = 0; i < parts; i++) {
                bits.append(done.get(i) ? '1' : '0');
            }
            Path next = file.resolveSibling(file.getFileName() + ".next");
            Files.writeString(next, header + "\n" + bits + "\n", StandardCharsets.UTF_8);
            Files.move(next, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
