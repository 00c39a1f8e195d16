package dev.r2relay.client;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;

/**
 * Counts every HTTP request the S3 client sends, by operation, retries included, because each is
 * billed: R2 bills listings and writes as Class A operations and reads as Class B; deletes are free.
 */
public final class RequestCounter implements ExecutionInterceptor {

    private static final Set<String> CLASS_A = Set.of("ListObjects", "ListObjectsV2", "ListBuckets", "PutObject",
            "CopyObject", "CreateMultipartUpload", "UploadPart", "UploadPartCopy", "CompleteMultipartUpload",
            "ListMultipartUploads", "ListParts", "CreateBucket");
    private static final Set<String> FREE = Set.of("DeleteObject", "DeleteObjects", "AbortMultipartUpload");

    private final Map<String, LongAdder> attempts = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> calls = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> resumes = new ConcurrentHashMap<>();
    private volatile Consumer<String> newOperation = operation -> { };

    @Override
    public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attributes) {
        count(attempts, attributes);
    }

    @Override
    public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
        count(calls, attributes);
    }

    private void count(Map<String, LongAdder> counters, ExecutionAttributes attributes) {
        String name = attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME);
        String operation = name == null ? "Unknown" : name;
        LongAdder n = counters.get(operation);
        if (n == null) {
            n = counters.computeIfAbsent(operation, o -> new LongAdder());
            newOperation.accept(operation);
        }
        n.increment();
    }

    /**
     * A new request of {@code operation} continues one whose answer broke off (a body resumed with a
     * ranged GET): it is a retry, although the S3 client sees a new call.
     */
    public void resumed(String operation) {
        resumes.computeIfAbsent(operation, o -> new LongAdder()).increment();
    }

    /**
     * Tells {@code listener} of every operation sent so far and then of each operation the first
     * time it is sent (possibly more than once); metrics register their series through it.
     */
    public void onOperation(Consumer<String> listener) {
        newOperation = listener;
        calls.keySet().forEach(listener);
        attempts.keySet().forEach(listener);
    }

    /** Requests sent per operation, retries included, in name order. */
    public Map<String, Long> requests() {
        Map<String, Long> snapshot = new TreeMap<>();
        attempts.forEach((operation, n) -> snapshot.put(operation, n.sum()));
        return snapshot;
    }

    public long requests(String operation) {
        LongAdder n = attempts.get(operation);
        return n == null ? 0 : n.sum();
    }

    /** Requests of one operation sent again after a failed attempt or a broken answer. */
    public long retries(String operation) {
        LongAdder sent = attempts.get(operation);
        LongAdder made = calls.get(operation);
        LongAdder resumed = resumes.get(operation);
        return Math.max(0, (sent == null ? 0 : sent.sum()) - (made == null ? 0 : made.sum()))
                + (resumed == null ? 0 : resumed.sum());
    }

    /** Requests sent again after a failed attempt or a broken answer. */
    public long retries() {
        long sent = attempts.values().stream().mapToLong(LongAdder::sum).sum();
        long made = calls.values().stream().mapToLong(LongAdder::sum).sum();
        long resumed = resumes.values().stream().mapToLong(LongAdder::sum).sum();
        return Math.max(0, sent - made) + resumed;
    }

    /** R2's billing class of an operation: "A", "B" or "free". */
    public static String billingClass(String operation) {
        if (CLASS_A.contains(operation)) {
            return "A";
        }
        return FREE.contains(operation) ? "free" : "B";
    }

    /** One line for logs: class totals, then each operation. */
    public String summary() {
        Map<String, Long> now = requests();
        long a = 0;
        long b = 0;
        StringBuilder detail = new StringBuilder();
        for (Map.Entry<String, Long> e : now.entrySet()) {
            String kind = billingClass(e.getKey());
            if (kind.equals("A")) {
                a += e.getValue();
            } else if (kind.equals("B")) {
                b += e.getValue();
            }
            detail.append(' ').append(e.getKey()).append('=').append(e.getValue());
        }
        return "requests classA=" + a + " classB=" + b + " retries=" + retries() + detail;
    }
}
