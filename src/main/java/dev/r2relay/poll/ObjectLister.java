package dev.r2relay.poll;

import dev.r2relay.delivery.SafeKeyPaths;
import dev.r2relay.health.EndpointStatus;
import dev.r2relay.state.DeliveryLedger;
import dev.r2relay.state.ObjectRef;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.EncodingType;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Lists a bucket under a prefix, page by page, and yields the objects the ledger has not settled
 * at their current ETag. Nothing is downloaded here, and only one page (at most 1,000 keys) is
 * held at a time, so memory does not grow with the bucket.
 */
public final class ObjectLister {

    private static final Logger LOG = LoggerFactory.getLogger(ObjectLister.class);

    private final S3Client s3;
    private final DeliveryLedger ledger;
    private final String bucket;
    private final String prefix;
    private final InFlight inFlight;
    private final boolean incremental;
    private final EndpointStatus endpointStatus;
    private final boolean shuffle;
    private final Executor prefetch = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "relay-list-ahead");
        t.setDaemon(true);
        return t;
    });

    /**
     * With {@code incremental}, for buckets whose new keys always sort after the old ones
     * (date-partitioned keys), each poll lists from the last settled key instead of the start.
     * Each list request's outcome is reported to {@code endpointStatus}. With {@code shuffle} (a
     * ledger shared with other instances, which list the same keys in the same order), each page's
     * new objects are queued in random order, so that the instances mostly ask for different
     * objects instead of contending for each one in turn.
     */
    public ObjectLister(S3Client s3, DeliveryLedger ledger, String bucket, String prefix, InFlight inFlight,
                        boolean incremental, EndpointStatus endpointStatus, boolean shuffle) {
        this.s3 = s3;
        this.ledger = ledger;
        this.bucket = bucket;
        this.prefix = prefix;
        this.inFlight = inFlight;
        this.incremental = incremental;
        this.endpointStatus = endpointStatus;
        this.shuffle = shuffle;
    }

    /** A lazy sequence of the objects still to deliver; each call starts a fresh listing. */
    public Listing newObjects() {
        return new NewObjects();
    }

    /** The objects still to deliver, and what the listing saw so far. */
    public interface Listing extends Iterator<ObjectRef> {
        /** List requests made. */
        int pages();

        /** Keys listed, folder markers included. */
        int listed();

        /** Objects handed out for delivery. */
        int fresh();
    }

    /** Walks the pages, following the continuation token until the listing is no longer truncated. */
    private final class NewObjects implements Listing {
        private final FolderMarks marks = new FolderMarks();
        private final Deque<ObjectRef> ready = new ArrayDeque<>();
        private final Set<String> unsettled = new HashSet<>();
        private final Cursor cursor = new Cursor();
        private final long poll = inFlight.pollStarted();
        private boolean completed;
        private String continuation;
        private String startAfter = cursor.start();
        private CompletableFuture<ListObjectsV2Response> ahead;
        private boolean lastPage;
        private int pages;
        private int listed;
        private int fresh;

        @Override
        public int pages() {
            return pages;
        }

        @Override
        public int listed() {
            return listed;
        }

        @Override
        public int fresh() {
            return fresh;
        }

        @Override
        public boolean hasNext() {
            while (ready.isEmpty() && !lastPage) {
                nextPage();
            }
            if (ready.isEmpty() && !completed) {
                completed = true;
                inFlight.pollCompleted(poll);
            }
            return !ready.isEmpty();
        }

        @Override
        public ObjectRef next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return ready.poll();
        }

        private void nextPage() {
            ListObjectsV2Response page = ahead != null ? await(ahead) : list(continuation, startAfter);
            ahead = null;
            String lastKey = page.contents().isEmpty() ? null : page.contents().get(page.contents().size() - 1).key();
            // a truncated page without a token (seen on some servers) continues after its last key
            continuation = page.nextContinuationToken();
            startAfter = continuation == null ? lastKey : null;
            lastPage = !Boolean.TRUE.equals(page.isTruncated()) || (continuation == null && lastKey == null);
            if (!lastPage) {
                // the next page is fetched while this one's objects are checked and delivered, so that
                // deliveries do not stall on a listing (100-300 ms a page on R2, seconds on some servers)
                String token = continuation;
                String after = startAfter;
                ahead = CompletableFuture.supplyAsync(() -> list(token, after), prefetch);
            }
            process(page);
        }

        private ListObjectsV2Response list(String token, String after) {
            // keys come URL-encoded (the SDK decodes them): XML 1.0 cannot carry every character a key may
            // hold (U+0001), and one such key would make every page that lists it unreadable
            ListObjectsV2Request.Builder request = ListObjectsV2Request.builder().bucket(bucket).maxKeys(1000)
                    .encodingType(EncodingType.URL);
            if (!prefix.isEmpty()) {
                request.prefix(prefix);
            }
            if (token != null) {
                request.continuationToken(token);
            } else if (after != null) {
                request.startAfter(after);
            }
            try {
                ListObjectsV2Response page = s3.listObjectsV2(request.build());
                endpointStatus.listed(Instant.now());
                return page;
            } catch (RuntimeException e) {
                endpointStatus.failed(Instant.now(), e);
                throw e;
            }
        }

        private static ListObjectsV2Response await(CompletableFuture<ListObjectsV2Response> page) {
            try {
                return page.join();
            } catch (CompletionException e) {
                throw e.getCause() instanceof RuntimeException r ? r : e;
            }
        }

        private void process(ListObjectsV2Response page) {
            pages++;
            List<ObjectRef> objects = new ArrayList<>(page.contents().size());
            for (S3Object o : page.contents()) {
                listed++;
                if (!o.key().endsWith("/")) { // a key ending in '/' is a folder marker, not content
                    objects.add(new ObjectRef(bucket, o.key(), ObjectRef.bareEtag(o.eTag()), o.size(),
                            o.lastModified(), false));
                }
            }
            // in flight first, the ledger second: a delivery is recorded before it leaves the
            // in-flight set, so one that ends between the two reads is seen by the second
            Set<String> busy = new HashSet<>();
            for (ObjectRef o : objects) {
                if (inFlight.contains(bucket, o.key())) {
                    busy.add(o.key());
                }
            }
            Set<String> settled = ledger.settled(bucket, objects);
            for (S3Object o : page.contents()) {
                cursor.advance(o.key(), o.key().endsWith("/") || settled.contains(o.key()));
            }
            List<ObjectRef> released = new ArrayList<>();
            for (ObjectRef o : objects) {
                if (!settled.contains(o.key()) && !busy.contains(o.key())) {
                    unsettled.add(o.key());
                }
                marks.offer(o, released);
            }
            if (lastPage) {
                marks.drain(released);
                cursor.save();
            }
            if (shuffle) {
                Collections.shuffle(released);
            }
            for (ObjectRef o : released) {
                if (unsettled.remove(o.key())) {
                    ready.add(o);
                    fresh++;
                }
            }
        }
    }

    /**
     * The incremental mode's position: the last key before which every listed key is settled. A
     * poll lists after it; it never passes an object that is not delivered yet, so an object
     * queued or failed in one poll is listed again in the next.
     */
    private final class Cursor {
        private final String saved;
        private String candidate;
        private boolean blocked;

        Cursor() {
            this.saved = incremental ? ledger.cursor(bucket, prefix) : null;
            this.candidate = saved;
        }

        String start() {
            return saved;
        }

        void advance(String key, boolean settledKey) {
            if (!settledKey) {
                blocked = true;
            } else if (!blocked) {
                candidate = key;
            }
        }

        void save() {
            if (incremental && candidate != null && !candidate.equals(saved)) {
                ledger.saveCursor(bucket, prefix, candidate);
            }
        }
    }

    /**
     * Marks keys that other keys continue with a '/' ({@code a/b} when {@code a/b/c} exists), so that
     * a file target can give them one outcome whatever the order of delivery. Relies on the
     * listing's order: every key between {@code k} and {@code k + "/"} starts with {@code k} and
     * continues with a character below '/', so a key stays pending only while such keys follow it.
     * A key no file target can take ({@code a//b}, {@code a/../b}) makes no folder: {@code a} next
     * to it is an ordinary file.
     */
    static final class FolderMarks {
        private final Deque<ObjectRef> pending = new ArrayDeque<>();

        void offer(ObjectRef next, List<ObjectRef> released) {
            String key = next.key();
            while (!pending.isEmpty()) {
                ObjectRef top = pending.peek();
                String t = top.key();
                if (key.startsWith(t) && key.length() > t.length()) {
                    char c = key.charAt(t.length());
                    if (c == '/' && !SafeKeyPaths.refusesAnywhere(key)) {
                        pending.pop();
                        released.add(new ObjectRef(top.bucket(), t, top.etag(), top.size(), top.lastModified(), true));
                        continue;
                    }
                    if (c <= '/') {
                        break; // a key that sorts inside t's range, or a refused one, decides nothing
                    }
                }
                released.add(pending.pop());
            }
            pending.push(next);
        }

        void drain(List<ObjectRef> released) {
            while (!pending.isEmpty()) {
                released.add(pending.pop());
            }
        }
    }
}
