package dev.r2relay.support;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A fault-injecting HTTP/1.1 proxy on loopback, placed between the application and an S3 server.
 * It forwards each request's bytes unchanged (SigV4 signs the Host header, so the server still
 * verifies the signature with the real key) and, where a rule matches, answers or damages the
 * response instead: S3 error answers (500, 503, 429 with Retry-After, 403), connection resets,
 * bodies that stall, stop early or announce a wrong Content-Length. Every request is recorded
 * with what was done to it.
 *
 * <p>Why not WireMock or Toxiproxy: WireMock's proxy re-frames and buffers proxied responses, so it
 * cannot cut or stall a body at byte N or lie about a proxied body's length; Toxiproxy needs its
 * own server (or Docker). A socket-level proxy does exactly the byte-level damage these tests need.
 */
public final class FaultProxy implements AutoCloseable {

    private static final byte[] CRLF = {'\r', '\n'};

    private final URI upstream;
    private final ServerSocket server;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fault-proxy");
        t.setDaemon(true);
        return t;
    });
    private final List<Rule> rules = new CopyOnWriteArrayList<>();
    private final List<Served> served = new CopyOnWriteArrayList<>();
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final Set<Socket> stalled = ConcurrentHashMap.newKeySet();
    private final AtomicInteger ids = new AtomicInteger();
    private final CountDownLatch closing = new CountDownLatch(1);
    private volatile boolean closed;

    /** Starts a proxy on a free loopback port in front of {@code upstream} (http://host:port). */
    public FaultProxy(URI upstream) throws IOException {
        this.upstream = upstream;
        this.server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        threads.execute(this::acceptLoop);
    }

    /** The endpoint to give the application instead of the server's. */
    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.getLocalPort());
    }

    // --- what a request is, and what to do to it ---------------------------------------------

    /** One request as it arrived: method, raw target, the decoded path-style bucket and key. */
    public record Request(int id, String method, String target, String bucket, String key,
                          Map<String, String> query, Map<String, String> headers, long arrivedNanos) {

        public String header(String name) {
            return headers.get(name);
        }

        /** A ListObjects(V2) request. */
        public boolean isListing() {
            return method.equals("GET") && key.isEmpty();
        }

        /** A GET of an object (whole or a range). */
        public boolean isGetObject() {
            return method.equals("GET") && !key.isEmpty();
        }

        public String range() {
            return header("Range");
        }

        /** The region of the SigV4 credential scope (Credential=AKID/date/REGION/s3/aws4_request). */
        public String signedRegion() {
            String auth = header("Authorization");
            if (auth == null) {
                return null;
            }
            int at = auth.indexOf("Credential=");
            if (at < 0) {
                return null;
            }
            String[] scope = auth.substring(at + 11).split("[,\\s]")[0].split("/");
            return scope.length >= 3 ? scope[2] : null;
        }
    }

    /** A request and what the proxy did with it ("forwarded", or the fault's name). */
    public record Served(Request request, String action) {
        public boolean faulted() {
            return !action.equals("forwarded");
        }
    }

    /** GETs of one object, whole or ranged. */
    public static Predicate<Request> getOf(String key) {
        return r -> r.isGetObject() && r.key().equals(key);
    }

    /** GETs of any object. */
    public static Predicate<Request> anyGet() {
        return Request::isGetObject;
    }

    /** DeleteObject requests for one key. */
    public static Predicate<Request> deleteOf(String key) {
        return r -> r.method().equals("DELETE") && r.key().equals(key);
    }

    /** CopyObject requests whose destination is {@code key}: a PUT carrying x-amz-copy-source. */
    public static Predicate<Request> copyTo(String key) {
        return r -> r.method().equals("PUT") && r.key().equals(key) && r.header("x-amz-copy-source") != null;
    }

    /** ListObjects requests. */
    public static Predicate<Request> listing() {
        return Request::isListing;
    }

    public static Predicate<Request> anyRequest() {
        return r -> true;
    }

    /** What to do to a matched request, instead of (or on top of) forwarding it. */
    public static final class Fault {
        enum Kind { ANSWER, NO_ANSWER, RESET, RESET_AFTER, TRUNCATE_AFTER, STALL_AFTER, PAUSE_AFTER, CONTENT_LENGTH, BEFORE }

        final Kind kind;
        final String name;
        final int status;
        final String code;
        final String message;
        final Map<String, String> headers;
        final long bytes;
        final Duration pause;
        final Consumer<Request> action;
        final Consumer<Request> afterwards;

        private Fault(Kind kind, String name, int status, String code, String message, Map<String, String> headers,
                      long bytes, Duration pause, Consumer<Request> action) {
            this(kind, name, status, code, message, headers, bytes, pause, action, null);
        }

        private Fault(Kind kind, String name, int status, String code, String message, Map<String, String> headers,
                      long bytes, Duration pause, Consumer<Request> action, Consumer<Request> afterwards) {
            this.kind = kind;
            this.name = name;
            this.status = status;
            this.code = code;
            this.message = message;
            this.headers = headers;
            this.bytes = bytes;
            this.pause = pause;
            this.action = action;
            this.afterwards = afterwards;
        }

        /**
         * The same fault, running {@code action} once the damaged answer's first bytes are sent and
         * before the connection breaks, stalls or pauses (e.g. to change the object mid-transfer).
         */
        public Fault then(String what, Consumer<Request> action) {
            return new Fault(kind, name + ", then " + what, status, code, message, headers, bytes, pause, this.action,
                    action);
        }

        /** {@code status} with an empty body, as a proxy or load balancer in front of S3 may answer. */
        public static Fault bare(int status) {
            return new Fault(Kind.ANSWER, status + " without a body", status, null, null, Map.of(), 0, null, null);
        }

        /** An S3 error answer: {@code status} with an XML body carrying {@code code} and {@code message}. */
        public static Fault error(int status, String code, String message) {
            return new Fault(Kind.ANSWER, status + " " + code, status, code, message, Map.of(), 0, null, null);
        }

        public static Fault internalError() {
            return error(500, "InternalError", "We encountered an internal error. Please try again.");
        }

        public static Fault serviceUnavailable() {
            return error(503, "SlowDown", "Please reduce your request rate.");
        }

        /** 429 with {@code Retry-After: seconds}. */
        public static Fault tooManyRequests(int retryAfterSeconds) {
            return new Fault(Kind.ANSWER, "429 TooManyRequests", 429, "TooManyRequests",
                    "Reduce your concurrent request rate for the same object.",
                    Map.of("Retry-After", Integer.toString(retryAfterSeconds)), 0, null, null);
        }

        public static Fault accessDenied() {
            return error(403, "AccessDenied", "Access Denied");
        }

        /** No answer at all: the request is taken and nothing comes back until the client gives up. */
        public static Fault noAnswer() {
            return new Fault(Kind.NO_ANSWER, "no answer", 0, null, null, Map.of(), 0, null, null);
        }

        /** A TCP reset instead of any answer. */
        public static Fault reset() {
            return new Fault(Kind.RESET, "reset", 0, null, null, Map.of(), 0, null, null);
        }

        /** The answer's head and the first {@code bytes} body bytes, then a TCP reset. */
        public static Fault resetAfter(long bytes) {
            return new Fault(Kind.RESET_AFTER, "reset after " + bytes + " bytes", 0, null, null, Map.of(), bytes,
                    null, null);
        }

        /** The answer's head (its Content-Length unchanged) and the first {@code bytes} bytes, then close. */
        public static Fault truncateAfter(long bytes) {
            return new Fault(Kind.TRUNCATE_AFTER, "truncated after " + bytes + " bytes", 0, null, null, Map.of(),
                    bytes, null, null);
        }

        /** The head and {@code bytes} bytes, then silence until the client gives up or the stall is released. */
        public static Fault stallAfter(long bytes) {
            return new Fault(Kind.STALL_AFTER, "stalled after " + bytes + " bytes", 0, null, null, Map.of(), bytes,
                    null, null);
        }

        /** The head and {@code bytes} bytes, a pause of {@code pause}, then the rest. */
        public static Fault pauseAfter(long bytes, Duration pause) {
            return new Fault(Kind.PAUSE_AFTER, "paused " + pause.toMillis() + " ms after " + bytes + " bytes", 0,
                    null, null, Map.of(), bytes, pause, null);
        }

        /** Announces {@code Content-Length: length} and sends at most that many of the real body's bytes. */
        public static Fault contentLength(long length) {
            return new Fault(Kind.CONTENT_LENGTH, "Content-Length " + length, 0, null, null, Map.of(), length,
                    null, null);
        }

        /** Runs {@code action} (e.g. changes the object in the server), then forwards the request unchanged. */
        public static Fault before(String name, Consumer<Request> action) {
            return new Fault(Kind.BEFORE, name, 0, null, null, Map.of(), 0, null, action);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private static final class Rule {
        final Predicate<Request> match;
        final Fault fault;
        int left;

        Rule(Predicate<Request> match, int times, Fault fault) {
            this.match = match;
            this.left = times;
            this.fault = fault;
        }
    }

    /** Applies {@code fault} to the next {@code times} requests that {@code match}; rules apply in order. */
    public FaultProxy inject(Predicate<Request> match, int times, Fault fault) {
        rules.add(new Rule(match, times, fault));
        return this;
    }

    /** Applies {@code fault} to every request that {@code match}es, until {@link #clearFaults()}. */
    public FaultProxy injectAlways(Predicate<Request> match, Fault fault) {
        return inject(match, Integer.MAX_VALUE, fault);
    }

    public void clearFaults() {
        rules.clear();
    }

    private synchronized Fault decide(Request request) {
        for (Rule rule : rules) {
            if (rule.left > 0 && rule.match.test(request)) {
                rule.left--;
                return rule.fault;
            }
        }
        return null;
    }

    // --- what happened -----------------------------------------------------------------------

    public List<Served> served() {
        return List.copyOf(served);
    }

    /** Requests that match, in arrival order. */
    public List<Served> served(Predicate<Request> match) {
        return served.stream().filter(s -> match.test(s.request())).toList();
    }

    /** Faults injected so far (answers, resets, damaged bodies; not the "before" actions). */
    public long faultsInjected() {
        return served.stream().filter(Served::faulted).filter(s -> !s.action().startsWith("before:")).count();
    }

    /** Requests held by {@link Fault#stallAfter} or {@link Fault#noAnswer} right now. */
    public int stalledNow() {
        return stalled.size();
    }

    /** Ends every stall now: the held connections are reset, so their clients see a broken body. */
    public void releaseStalls() {
        for (Socket s : List.copyOf(stalled)) {
            reset(s);
        }
    }

    // --- the proxy itself --------------------------------------------------------------------

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                open.add(client);
                threads.execute(() -> serve(client));
            } catch (IOException e) {
                if (!closed) {
                    throw new IllegalStateException("fault proxy stopped accepting", e);
                }
                return;
            }
        }
    }

    /** The upstream connection paired with one client connection, opened when first needed. */
    private final class Upstream implements AutoCloseable {
        Socket socket;
        InputStream in;
        OutputStream out;

        void ensureOpen() throws IOException {
            if (socket == null) {
                socket = new Socket(upstream.getHost(), upstream.getPort());
                socket.setTcpNoDelay(true);
                open.add(socket);
                in = new BufferedInputStream(socket.getInputStream());
                out = socket.getOutputStream();
            }
        }

        @Override
        public void close() {
            if (socket != null) {
                open.remove(socket);
                try {
                    socket.close();
                } catch (IOException e) {
                    // gone already
                }
                socket = null;
            }
        }
    }

    private void serve(Socket client) {
        Upstream up = new Upstream();
        try {
            client.setTcpNoDelay(true);
            InputStream cin = new BufferedInputStream(client.getInputStream());
            OutputStream cout = client.getOutputStream();
            while (!closed) {
                Head head = Head.read(cin);
                if (head == null) {
                    return;
                }
                Request request = request(head);
                Fault fault = decide(request);
                String action = fault == null ? "forwarded"
                        : fault.kind == Fault.Kind.BEFORE ? "before:" + fault.name : fault.name;
                served.add(new Served(request, action));
                if ("100-continue".equalsIgnoreCase(head.header("Expect"))) {
                    cout.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    cout.flush();
                }
                byte[] body = readRequestBody(cin, head);
                if (fault != null && fault.kind == Fault.Kind.ANSWER) {
                    answer(cout, request, fault);
                    continue;
                }
                if (fault != null && fault.kind == Fault.Kind.RESET) {
                    reset(client);
                    return;
                }
                if (fault != null && fault.kind == Fault.Kind.NO_ANSWER) {
                    holdUntilClientLeaves(client, cin);
                    return;
                }
                if (fault != null && fault.kind == Fault.Kind.BEFORE) {
                    fault.action.accept(request);
                    fault = null;
                }
                if (!forward(head, body, request, fault, up, client, cin, cout)) {
                    return;
                }
            }
        } catch (IOException e) {
            // a client or the server went away; so does this connection
        } finally {
            up.close();
            stalled.remove(client);
            open.remove(client);
            try {
                client.close();
            } catch (IOException e) {
                // closed already
            }
        }
    }

    /** Forwards one request; returns whether the client connection can carry another. */
    private boolean forward(Head head, byte[] body, Request request, Fault fault, Upstream up, Socket client,
                            InputStream cin, OutputStream cout) throws IOException {
        up.ensureOpen();
        up.out.write(head.raw);
        up.out.write(body);
        up.out.flush();
        Head response;
        do {
            response = Head.read(up.in);
            if (response == null) {
                throw new IOException("the server closed the connection without an answer");
            }
        } while (response.status() >= 100 && response.status() < 200);
        int status = response.status();
        boolean noBody = request.method().equals("HEAD") || status == 204 || status == 304;
        boolean chunked = !noBody && "chunked".equalsIgnoreCase(response.header("Transfer-Encoding"));
        long length = noBody ? 0 : chunked ? -1 : parseLength(response.header("Content-Length"));
        boolean serverCloses = "close".equalsIgnoreCase(response.header("Connection")) || (!chunked && length < 0);

        if (fault == null) {
            cout.write(response.raw);
            if (chunked) {
                copyChunked(up.in, cout);
            } else if (length >= 0) {
                copy(up.in, cout, length);
            } else {
                up.in.transferTo(cout);
            }
            cout.flush();
            if (serverCloses) {
                up.close();
                return false;
            }
            return true;
        }

        if (fault.kind == Fault.Kind.CONTENT_LENGTH) {
            if (length < 0) {
                throw new IOException("cannot change the length of a body without Content-Length");
            }
            cout.write(response.withHeader("Content-Length", Long.toString(fault.bytes)));
            copy(up.in, cout, Math.min(length, fault.bytes));
            cout.flush();
            if (fault.bytes != length) {
                up.close(); // the rest of the real body is unread
            }
            if (fault.bytes > length) {
                client.shutdownOutput(); // the client waits for bytes that never come: it sees the end early
                return false;
            }
            return true;
        }

        cout.write(response.raw);
        long before = length < 0 ? fault.bytes : Math.min(length, fault.bytes);
        copy(up.in, cout, before);
        cout.flush();
        if (fault.afterwards != null) {
            fault.afterwards.accept(request);
        }
        switch (fault.kind) {
            case TRUNCATE_AFTER -> {
                up.close();
                client.shutdownOutput();
                return false;
            }
            case RESET_AFTER -> {
                up.close();
                reset(client);
                return false;
            }
            case STALL_AFTER -> {
                up.close();
                holdUntilClientLeaves(client, cin);
                return false;
            }
            case PAUSE_AFTER -> {
                try {
                    if (closing.await(fault.pause.toMillis(), TimeUnit.MILLISECONDS)) {
                        return false;
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
                if (chunked) {
                    // the first bytes were raw chunk framing; the rest continues the same stream
                    up.in.transferTo(cout);
                } else if (length >= 0) {
                    copy(up.in, cout, length - before);
                } else {
                    up.in.transferTo(cout);
                }
                cout.flush();
                return !serverCloses && !chunked;
            }
            default -> throw new IllegalStateException("unexpected fault " + fault);
        }
    }

    /** Silence: waits until the client gives up (closes) or the stall is released, then resets. */
    private void holdUntilClientLeaves(Socket client, InputStream cin) {
        stalled.add(client);
        try {
            while (cin.read() >= 0) {
                // a client does not send while it waits for an answer; ignore anything that comes
            }
        } catch (IOException e) {
            // reset by releaseStalls or by the client
        } finally {
            stalled.remove(client);
        }
        reset(client);
    }

    private static void answer(OutputStream out, Request request, Fault fault) throws IOException {
        String xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + fault.code + "</Code><Message>"
                + fault.message + "</Message><Resource>" + request.target().replace("&", "&amp;")
                + "</Resource><RequestId>fault-" + request.id() + "</RequestId></Error>";
        byte[] body = request.method().equals("HEAD") || fault.code == null ? new byte[0]
                : xml.getBytes(StandardCharsets.UTF_8);
        StringBuilder head = new StringBuilder("HTTP/1.1 ").append(fault.status).append(' ')
                .append(reason(fault.status)).append("\r\n");
        head.append("Content-Type: application/xml\r\n");
        head.append("x-amz-request-id: fault-").append(request.id()).append("\r\n");
        fault.headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
        head.append("Content-Length: ").append(body.length).append("\r\n\r\n");
        out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
    }

    private static String reason(int status) {
        return switch (status) {
            case 400 -> "Bad Request";
            case 403 -> "Forbidden";
            case 404 -> "Not Found";
            case 429 -> "Too Many Requests";
            case 500 -> "Internal Server Error";
            case 503 -> "Service Unavailable";
            default -> "Error";
        };
    }

    private static void reset(Socket socket) {
        try {
            socket.setSoLinger(true, 0);
            socket.close();
        } catch (IOException e) {
            // closed already
        }
    }

    private Request request(Head head) {
        String[] line = head.startLine.split(" ");
        String method = line[0];
        String target = line.length > 1 ? line[1] : "/";
        int q = target.indexOf('?');
        String path = q < 0 ? target : target.substring(0, q);
        Map<String, String> query = new LinkedHashMap<>();
        if (q >= 0) {
            for (String pair : target.substring(q + 1).split("&")) {
                if (!pair.isEmpty()) {
                    int eq = pair.indexOf('=');
                    query.put(decode(eq < 0 ? pair : pair.substring(0, eq)),
                            eq < 0 ? "" : decode(pair.substring(eq + 1)));
                }
            }
        }
        String trimmed = path.startsWith("/") ? path.substring(1) : path;
        int slash = trimmed.indexOf('/');
        String bucket = decode(slash < 0 ? trimmed : trimmed.substring(0, slash));
        String key = slash < 0 ? "" : decode(trimmed.substring(slash + 1));
        return new Request(ids.incrementAndGet(), method, target, bucket, key, Collections.unmodifiableMap(query),
                Collections.unmodifiableMap(head.headers), System.nanoTime());
    }

    /** Percent-decoding as in a URI path (a '+' stays a '+'). */
    static String decode(String s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == '%' && i + 2 < bytes.length) {
                out.write(Integer.parseInt(new String(bytes, i + 1, 2, StandardCharsets.US_ASCII), 16));
                i += 2;
            } else {
                out.write(bytes[i]);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private static byte[] readRequestBody(InputStream in, Head head) throws IOException {
        if ("chunked".equalsIgnoreCase(head.header("Transfer-Encoding"))) {
            ByteArrayOutputStream raw = new ByteArrayOutputStream();
            copyChunked(in, raw);
            return raw.toByteArray();
        }
        long length = parseLength(head.header("Content-Length"));
        return length <= 0 ? new byte[0] : in.readNBytes((int) length);
    }

    private static long parseLength(String value) {
        return value == null ? -1 : Long.parseLong(value.trim());
    }

    private static void copy(InputStream in, OutputStream out, long bytes) throws IOException {
        byte[] buffer = new byte[64 * 1024];
        long left = bytes;
        while (left > 0) {
            int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
            if (n < 0) {
                throw new IOException("the server's body ended " + left + " bytes early");
            }
            out.write(buffer, 0, n);
            left -= n;
        }
    }

    /** Copies one chunked body, framing included, up to and including its last chunk and trailers. */
    private static void copyChunked(InputStream in, OutputStream out) throws IOException {
        while (true) {
            String sizeLine = readLine(in);
            out.write(sizeLine.getBytes(StandardCharsets.US_ASCII));
            out.write(CRLF);
            int semi = sizeLine.indexOf(';');
            long size = Long.parseLong((semi < 0 ? sizeLine : sizeLine.substring(0, semi)).trim(), 16);
            if (size == 0) {
                String trailer;
                do {
                    trailer = readLine(in);
                    out.write(trailer.getBytes(StandardCharsets.US_ASCII));
                    out.write(CRLF);
                } while (!trailer.isEmpty());
                return;
            }
            copy(in, out, size);
            String end = readLine(in);
            out.write(end.getBytes(StandardCharsets.US_ASCII));
            out.write(CRLF);
        }
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                byte[] b = line.toByteArray();
                int n = b.length > 0 && b[b.length - 1] == '\r' ? b.length - 1 : b.length;
                return new String(b, 0, n, StandardCharsets.US_ASCII);
            }
            line.write(c);
        }
        throw new IOException("connection closed mid-line");
    }

    /** A request or response head: its start line, headers, and the exact bytes received. */
    private static final class Head {
        final String startLine;
        final Map<String, String> headers;
        final byte[] raw;

        private Head(String startLine, Map<String, String> headers, byte[] raw) {
            this.startLine = startLine;
            this.headers = headers;
            this.raw = raw;
        }

        /** Reads a head up to its blank line; null when the connection ends before one starts. */
        static Head read(InputStream in) throws IOException {
            ByteArrayOutputStream raw = new ByteArrayOutputStream();
            List<String> lines = new ArrayList<>();
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int c;
            while (true) {
                try {
                    c = in.read();
                } catch (SocketException e) {
                    if (raw.size() == 0) {
                        return null;
                    }
                    throw e;
                }
                if (c < 0) {
                    if (raw.size() == 0) {
                        return null;
                    }
                    throw new IOException("connection closed mid-head");
                }
                raw.write(c);
                if (c == '\n') {
                    byte[] b = line.toByteArray();
                    int n = b.length > 0 && b[b.length - 1] == '\r' ? b.length - 1 : b.length;
                    String text = new String(b, 0, n, StandardCharsets.ISO_8859_1);
                    line.reset();
                    if (text.isEmpty()) {
                        if (lines.isEmpty()) {
                            continue; // a stray CRLF between messages
                        }
                        break;
                    }
                    lines.add(text);
                } else {
                    line.write(c);
                }
            }
            Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            for (String h : lines.subList(1, lines.size())) {
                int colon = h.indexOf(':');
                if (colon > 0) {
                    headers.merge(h.substring(0, colon).trim(), h.substring(colon + 1).trim(), (a, b) -> a + "," + b);
                }
            }
            return new Head(lines.get(0), headers, raw.toByteArray());
        }

        String header(String name) {
            return headers.get(name);
        }

        int status() {
            String[] parts = startLine.split(" ");
            return Integer.parseInt(parts[1]);
        }

        /** The head's bytes with one header's value replaced. */
        byte[] withHeader(String name, String value) {
            String text = new String(raw, StandardCharsets.ISO_8859_1);
            Pattern header = Pattern.compile("^" + Pattern.quote(name) + ":[^\r\n]*",
                    Pattern.CASE_INSENSITIVE | Pattern.MULTILINE);
            return header.matcher(text).replaceFirst(Matcher.quoteReplacement(name + ": " + value))
                    .getBytes(StandardCharsets.ISO_8859_1);
        }
    }

    @Override
    public void close() {
        closed = true;
        closing.countDown();
        try {
            server.close();
        } catch (IOException e) {
            // closing anyway
        }
        for (Socket s : List.copyOf(open)) {
            reset(s);
        }
        threads.shutdownNow();
    }
}
