import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The benchmark's raw limit: list a bucket once, then GET every object with a fixed number of
 * threads, nothing else (no ledger, no fsync, no retries, no checks but the status and length).
 * Objects above --threshold are fetched as parallel byte ranges written in place. Plain JDK and
 * nothing between the loop and the socket: one blocking keep-alive HTTP/1.1 connection per thread
 * (plain http only), a hand-written SigV4 signer (UNSIGNED-PAYLOAD), path-style URLs.
 *
 * <pre>
 * AWS_ENDPOINT_URL=http://127.0.0.1:9000 AWS_ACCESS_KEY_ID=.. AWS_SECRET_ACCESS_KEY=.. \
 *   java RawGet.java --bucket B --dest DIR [--concurrency 16] [--threshold BYTES] [--part-size BYTES]
 *                    [--null] [--list-only]
 * </pre>
 * Prints one line: {@code raw: pages=.. listed=.. objects=.. bytes=.. seconds=..}; exits 1 on any error.
 */
public final class RawGet {

    private static final Pattern CONTENTS = Pattern.compile("<Contents>(.*?)</Contents>", Pattern.DOTALL);
    private static final Pattern KEY = Pattern.compile("<Key>(.*?)</Key>", Pattern.DOTALL);
    private static final Pattern SIZE = Pattern.compile("<Size>(\\d+)</Size>");
    private static final Pattern TRUNCATED = Pattern.compile("<IsTruncated>true</IsTruncated>");
    private static final Pattern TOKEN = Pattern.compile("<NextContinuationToken>(.*?)</NextContinuationToken>");
    private static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'");
    private static final String UNSIGNED = "UNSIGNED-PAYLOAD";
    private static final int BUFFER = 256 * 1024;

    private final URI endpoint;
    private final String accessKey;
    private final String secretKey;
    private final String region;
    private final ThreadLocal<Connection> connections = ThreadLocal.withInitial(this::connect);
    private final ThreadLocal<Mac> macs = ThreadLocal.withInitial(() -> {
        try {
            return Mac.getInstance("HmacSHA256");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    });
    private final Set<Path> madeFolders = ConcurrentHashMap.newKeySet();
    private volatile String signingDay;
    private volatile byte[] signingKey;

    private RawGet(URI endpoint, String accessKey, String secretKey, String region) {
        this.endpoint = endpoint;
        this.accessKey = accessKey;
        this.secretKey = secretKey;
        this.region = region;
        if (!"http".equals(endpoint.getScheme())) {
            throw new IllegalArgumentException("RawGet speaks plain http only: " + endpoint);
        }
    }

    record Obj(String key, long size) {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new TreeMap<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--null") || a.equals("--list-only")) {
                opt.put(a, "true");
            } else if (a.startsWith("--") && i + 1 < args.length) {
                opt.put(a, args[++i]);
            } else {
                System.err.println("RawGet: unexpected argument " + a);
                System.exit(2);
            }
        }
        String bucket = opt.get("--bucket");
        String dest = opt.get("--dest");
        boolean discard = opt.containsKey("--null");
        boolean listOnly = opt.containsKey("--list-only");
        if (bucket == null || (dest == null && !discard && !listOnly)) {
            System.err.println("usage: RawGet --bucket B (--dest DIR | --null | --list-only) [--concurrency N]"
                    + " [--threshold BYTES] [--part-size BYTES]");
            System.exit(2);
        }
        int concurrency = Integer.parseInt(opt.getOrDefault("--concurrency", "16"));
        long threshold = Long.parseLong(opt.getOrDefault("--threshold", Long.toString(64L << 20)));
        long partSize = Long.parseLong(opt.getOrDefault("--part-size", Long.toString(16L << 20)));
        RawGet raw = new RawGet(URI.create(env("AWS_ENDPOINT_URL")), env("AWS_ACCESS_KEY_ID"),
                env("AWS_SECRET_ACCESS_KEY"), System.getenv().getOrDefault("AWS_REGION", "us-east-1"));

        long started = System.nanoTime();
        List<Obj> objects = new ArrayList<>();
        int pages = raw.list(bucket, objects);
        long bytes = 0;
        int fetched = 0;
        if (!listOnly) {
            bytes = raw.fetchAll(bucket, objects, dest == null ? null : Path.of(dest), discard, concurrency,
                    threshold, partSize);
            fetched = (int) objects.stream().filter(o -> !o.key().endsWith("/")).count();
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("raw: pages=%d listed=%d objects=%d bytes=%d seconds=%.3f%n", pages, objects.size(),
                fetched, bytes, seconds);
    }

    private static String env(String name) {
        String v = System.getenv(name);
        if (v == null || v.isEmpty()) {
            System.err.println("RawGet: " + name + " is not set");
            System.exit(2);
        }
        return v;
    }

    /** Lists every page; returns the number of list requests. */
    int list(String bucket, List<Obj> into) throws Exception {
        String token = null;
        int pages = 0;
        while (true) {
            Map<String, String> query = new TreeMap<>();
            query.put("list-type", "2");
            query.put("max-keys", "1000");
            if (token != null) {
                query.put("continuation-token", token);
            }
            Response r = send("/" + bucket, query, null);
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            r.body.transferTo(body);
            pages++;
            String xml = body.toString(StandardCharsets.UTF_8);
            if (r.status != 200) {
                throw new IOException("list " + bucket + ": HTTP " + r.status + " " + xml);
            }
            Matcher c = CONTENTS.matcher(xml);
            while (c.find()) {
                Matcher k = KEY.matcher(c.group(1));
                Matcher s = SIZE.matcher(c.group(1));
                if (!k.find() || !s.find()) {
                    throw new IOException("unreadable listing entry: " + c.group(1));
                }
                into.add(new Obj(unescape(k.group(1)), Long.parseLong(s.group(1))));
            }
            Matcher t = TOKEN.matcher(xml);
            token = t.find() ? unescape(t.group(1)) : null;
            if (!TRUNCATED.matcher(xml).find() || token == null) {
                return pages;
            }
        }
    }

    long fetchAll(String bucket, List<Obj> objects, Path dest, boolean discard, int concurrency, long threshold,
                  long partSize) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(concurrency);
        AtomicLong bytes = new AtomicLong();
        List<Future<?>> tasks = new ArrayList<>();
        List<FileChannel> open = new ArrayList<>();
        try {
            for (Obj o : objects) {
                if (o.key().endsWith("/")) {
                    continue; // a folder marker
                }
                Path file = discard ? null : dest.resolve(o.key());
                if (o.size() > threshold) {
                    FileChannel out = null;
                    if (file != null) {
                        folder(file.getParent());
                        out = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                                StandardOpenOption.TRUNCATE_EXISTING);
                        open.add(out);
                    }
                    for (long start = 0; start < o.size(); start += partSize) {
                        long from = start;
                        long to = Math.min(o.size(), start + partSize) - 1;
                        FileChannel target = out;
                        tasks.add(pool.submit(() -> {
                            bytes.addAndGet(range(bucket, o.key(), from, to, target));
                            return null;
                        }));
                    }
                } else {
                    tasks.add(pool.submit(() -> {
                        bytes.addAndGet(whole(bucket, o, file));
                        return null;
                    }));
                }
            }
            for (Future<?> f : tasks) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
            pool.awaitTermination(10, TimeUnit.SECONDS);
            for (FileChannel c : open) {
                c.close();
            }
        }
        return bytes.get();
    }

    private long whole(String bucket, Obj o, Path file) throws Exception {
        Response r = send(objectPath(bucket, o.key()), Map.of(), null);
        try (InputStream in = r.body) {
            if (r.status != 200) {
                throw new IOException("GET " + o.key() + ": HTTP " + r.status);
            }
            long n;
            if (file == null) {
                n = in.transferTo(OutputStream.nullOutputStream());
            } else {
                folder(file.getParent());
                try (OutputStream out = Files.newOutputStream(file)) {
                    n = in.transferTo(out);
                }
            }
            if (n != o.size()) {
                throw new IOException("GET " + o.key() + ": " + n + " bytes, listed " + o.size());
            }
            return n;
        }
    }

    private long range(String bucket, String key, long from, long to, FileChannel out) throws Exception {
        Response r = send(objectPath(bucket, key), Map.of(), "bytes=" + from + "-" + to);
        try (InputStream in = r.body) {
            if (r.status != 206) {
                throw new IOException("GET " + key + " range " + from + "-" + to + ": HTTP " + r.status);
            }
            byte[] buffer = new byte[BUFFER];
            long position = from;
            int n;
            while ((n = in.read(buffer)) >= 0) {
                if (out != null) {
                    ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, n);
                    while (chunk.hasRemaining()) {
                        position += out.write(chunk, position);
                    }
                } else {
                    position += n;
                }
            }
            if (position - from != to - from + 1) {
                throw new IOException("GET " + key + " range " + from + "-" + to + ": " + (position - from) + " bytes");
            }
            return position - from;
        }
    }

    private void folder(Path folder) throws IOException {
        if (madeFolders.add(folder)) {
            Files.createDirectories(folder);
        }
    }

    private static String objectPath(String bucket, String key) {
        StringBuilder p = new StringBuilder("/").append(bucket);
        for (String segment : key.split("/", -1)) {
            p.append('/').append(encode(segment));
        }
        return p.toString();
    }

    /** Sends a GET signed with AWS Signature Version 4 on this thread's connection. */
    private Response send(String path, Map<String, String> query, String range) throws IOException {
        String request = signedGet(path, query, range);
        Connection c = connections.get();
        try {
            return c.exchange(request);
        } catch (IOException e) {
            if (!c.reused) {
                throw e;
            }
            // the server closed an idle keep-alive connection: one new connection, one more try
            c.close();
            c = connect();
            connections.set(c);
            return c.exchange(request);
        }
    }

    private String signedGet(String path, Map<String, String> query, String range) {
        ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
        String amzDate = AMZ_DATE.format(now);
        String day = amzDate.substring(0, 8);
        StringBuilder qs = new StringBuilder();
        for (Map.Entry<String, String> e : new TreeMap<>(query).entrySet()) {
            qs.append(qs.length() == 0 ? "" : "&").append(encode(e.getKey())).append('=').append(encode(e.getValue()));
        }
        String host = endpoint.getHost() + (endpoint.getPort() > 0 ? ":" + endpoint.getPort() : "");
        String basePath = endpoint.getPath() == null ? "" : endpoint.getPath().replaceAll("/$", "");
        String canonicalPath = basePath + path;
        TreeMap<String, String> headers = new TreeMap<>();
        headers.put("host", host);
        headers.put("x-amz-content-sha256", UNSIGNED);
        headers.put("x-amz-date", amzDate);
        if (range != null) {
            headers.put("range", range);
        }
        StringBuilder canonicalHeaders = new StringBuilder();
        for (Map.Entry<String, String> e : headers.entrySet()) {
            canonicalHeaders.append(e.getKey()).append(':').append(e.getValue()).append('\n');
        }
        String signedHeaders = String.join(";", headers.keySet());
        String canonical = "GET\n" + canonicalPath + "\n" + qs + "\n" + canonicalHeaders + "\n" + signedHeaders
                + "\n" + UNSIGNED;
        String scope = day + "/" + region + "/s3/aws4_request";
        String toSign = "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex(sha256(canonical));
        String signature = hex(hmac(key(day), toSign));
        StringBuilder r = new StringBuilder(512);
        r.append("GET ").append(canonicalPath).append(qs.length() == 0 ? "" : "?").append(qs).append(" HTTP/1.1\r\n");
        for (Map.Entry<String, String> e : headers.entrySet()) {
            r.append(e.getKey()).append(": ").append(e.getValue()).append("\r\n");
        }
        r.append("authorization: AWS4-HMAC-SHA256 Credential=").append(accessKey).append('/').append(scope)
                .append(", SignedHeaders=").append(signedHeaders).append(", Signature=").append(signature)
                .append("\r\n\r\n");
        return r.toString();
    }

    private Connection connect() {
        try {
            Socket socket = new Socket();
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(endpoint.getHost(), endpoint.getPort() > 0 ? endpoint.getPort() : 80),
                    10_000);
            socket.setSoTimeout(600_000);
            return new Connection(socket);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot connect to " + endpoint, e);
        }
    }

    /** A response whose body must be read to its end before the connection serves the next request. */
    record Response(int status, InputStream body) {
    }

    /** One keep-alive HTTP/1.1 connection: Content-Length and chunked bodies. */
    static final class Connection {
        final Socket socket;
        final InputStream in;
        final OutputStream out;
        boolean reused;
        boolean closeAfter;

        Connection(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
            this.out = socket.getOutputStream();
        }

        Response exchange(String request) throws IOException {
            if (closeAfter) {
                throw new IOException("connection closed by the server");
            }
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            String status = line();
            if (status == null) {
                throw new EOFException("no response");
            }
            int code = Integer.parseInt(status.split(" ", 3)[1]);
            long length = -1;
            boolean chunked = false;
            for (String h = line(); h != null && !h.isEmpty(); h = line()) {
                int colon = h.indexOf(':');
                String name = h.substring(0, colon).trim().toLowerCase();
                String value = h.substring(colon + 1).trim();
                if (name.equals("content-length")) {
                    length = Long.parseLong(value);
                } else if (name.equals("transfer-encoding") && value.toLowerCase().contains("chunked")) {
                    chunked = true;
                } else if (name.equals("connection") && value.equalsIgnoreCase("close")) {
                    closeAfter = true;
                }
            }
            reused = true;
            InputStream body = chunked ? new Chunked(this) : new Bounded(this, length < 0 ? Long.MAX_VALUE : length);
            if (length < 0 && !chunked) {
                closeAfter = true;
            }
            return new Response(code, body);
        }

        String line() throws IOException {
            StringBuilder b = new StringBuilder(64);
            int c;
            while ((c = in.read()) >= 0) {
                if (c == '\n') {
                    int n = b.length();
                    return n > 0 && b.charAt(n - 1) == '\r' ? b.substring(0, n - 1) : b.toString();
                }
                b.append((char) c);
            }
            return b.length() == 0 ? null : b.toString();
        }

        void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    /** A Content-Length body; closing it reads what is left so that the connection can be reused. */
    static final class Bounded extends InputStream {
        private final Connection c;
        private long left;

        Bounded(Connection c, long length) {
            this.c = c;
            this.left = length;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left == 0) {
                return -1;
            }
            int n = c.in.read(b, off, (int) Math.min(len, left));
            if (n < 0) {
                if (left != Long.MAX_VALUE) {
                    throw new EOFException(left + " bytes missing");
                }
                left = 0;
                return -1;
            }
            if (left != Long.MAX_VALUE) {
                left -= n;
            }
            return n;
        }

        @Override
        public void close() throws IOException {
            if (left != 0) {
                transferTo(OutputStream.nullOutputStream());
            }
            if (c.closeAfter) {
                c.close();
            }
        }
    }

    /** A chunked body (listings may come chunked). */
    static final class Chunked extends InputStream {
        private final Connection c;
        private long left;
        private boolean done;

        Chunked(Connection c) {
            this.c = c;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (done) {
                return -1;
            }
            if (left == 0) {
                String size = c.line();
                if (size == null) {
                    throw new EOFException("chunk size missing");
                }
                int semi = size.indexOf(';');
                left = Long.parseLong((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
                if (left == 0) {
                    for (String t = c.line(); t != null && !t.isEmpty(); t = c.line()) {
                        // trailers
                    }
                    done = true;
                    return -1;
                }
            }
            int n = c.in.read(b, off, (int) Math.min(len, left));
            if (n < 0) {
                throw new EOFException("chunk cut short");
            }
            left -= n;
            if (left == 0) {
                c.line(); // the CRLF after the chunk
            }
            return n;
        }

        @Override
        public void close() throws IOException {
            if (!done) {
                transferTo(OutputStream.nullOutputStream());
            }
            if (c.closeAfter) {
                c.close();
            }
        }
    }

    private byte[] key(String day) {
        byte[] k = signingKey;
        if (k != null && day.equals(signingDay)) {
            return k;
        }
        k = hmac(hmac(hmac(hmac(("AWS4" + secretKey).getBytes(StandardCharsets.UTF_8), day), region), "s3"),
                "aws4_request");
        signingKey = k;
        signingDay = day;
        return k;
    }

    private byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = macs.get();
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    /** RFC 3986 encoding as SigV4 wants it: unreserved characters stay, everything else is %XX. */
    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20").replace("*", "%2A")
                .replace("%7E", "~");
    }

    private static String unescape(String xml) {
        return xml.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'")
                .replace("&#39;", "'").replace("&amp;", "&");
    }
}
