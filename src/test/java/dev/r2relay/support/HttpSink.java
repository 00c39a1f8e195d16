package dev.r2relay.support;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A real HTTP server on loopback (the JDK's), standing in for an ingest endpoint. It streams each
 * request body through SHA-256 (so it takes objects of any size in little memory), records
 * method, raw path, headers, size and digest, and answers from a script, then with a default.
 */
public final class HttpSink implements AutoCloseable {

    /** One request as it arrived. Header names are case-insensitive. */
    public record Received(String method, String rawPath, Map<String, String> headers, long size, String sha256,
                           long arrivedNanos) {
        public String header(String name) {
            return headers.get(name);
        }
    }

    /** An answer: status, headers, body text. */
    public record Answer(int status, Map<String, String> headers, String body) {
        public static Answer of(int status) {
            return new Answer(status, Map.of(), "");
        }

        /** No answer at all: the request hangs until the sink closes. */
        public static Answer none() {
            return new Answer(-1, Map.of(), "");
        }
    }

    private final HttpServer server;
    private final ExecutorService threads;
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final Deque<Answer> script = new ArrayDeque<>();
    private final CountDownLatch closed = new CountDownLatch(1);
    private volatile Answer fallback = Answer.of(200);
    private volatile Consumer<Received> listener = r -> { };

    /** On any free port. */
    public HttpSink() throws IOException {
        this(0);
    }

    /** On {@code port} of 127.0.0.1 (0: any free port). */
    public HttpSink(int port) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 16);
        threads = Executors.newFixedThreadPool(8, r -> {
            Thread t = new Thread(r, "http-sink");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(threads);
        server.createContext("/", this::handle);
        server.start();
    }

    /** A loopback port nothing listens on (it was free a moment ago). */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** {@code http://127.0.0.1:<port><path>} */
    public String url(String path) {
        return "http://127.0.0.1:" + port() + path;
    }

    /** Answers the next requests with these, in order, then with the fallback. */
    public synchronized HttpSink then(Answer... answers) {
        script.addAll(List.of(answers));
        return this;
    }

    /** The answer once the script is used up (200 unless set). */
    public HttpSink otherwise(Answer answer) {
        fallback = answer;
        return this;
    }

    /** Runs {@code action} for each request, once its body is read and before it is answered. */
    public HttpSink whenReceived(Consumer<Received> action) {
        listener = action;
        return this;
    }

    public List<Received> received() {
        return List.copyOf(received);
    }

    private synchronized Answer next() {
        Answer a = script.poll();
        return a == null ? fallback : a;
    }

    private void handle(HttpExchange exchange) throws IOException {
        long arrived = System.nanoTime();
        try (exchange) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            long size = 0;
            byte[] buffer = new byte[64 * 1024];
            try (InputStream in = exchange.getRequestBody()) {
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    sha.update(buffer, 0, n);
                    size += n;
                }
            }
            Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            Headers h = exchange.getRequestHeaders();
            h.forEach((name, values) -> headers.put(name, String.join(",", values)));
            Received request = new Received(exchange.getRequestMethod(), exchange.getRequestURI().getRawPath(),
                    headers, size, HexFormat.of().formatHex(sha.digest()), arrived);
            received.add(request);
            listener.accept(request);
            Answer answer = next();
            if (answer.status() < 0) {
                closed.await();
                return;
            }
            answer.headers().forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
            byte[] body = answer.body().getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(answer.status(), body.length == 0 ? -1 : body.length);
            if (body.length > 0) {
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(body);
                }
            }
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        closed.countDown();
        server.stop(0);
        threads.shutdownNow();
    }
}
