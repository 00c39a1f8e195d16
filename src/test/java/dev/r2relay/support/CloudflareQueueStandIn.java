package dev.r2relay.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A local stand-in for Cloudflare Queues' HTTP pull API, on loopback, following the documented
 * shapes: {@code POST /client/v4/accounts/{account}/queues/{queue}/messages/pull} with
 * {@code batch_size} (default 5, at most 100) and {@code visibility_timeout_ms} (default 30 s),
 * answering {@code result.messages[]} with {@code body} (base64 for the json and bytes content
 * types, plain for text), {@code id}, {@code timestamp_ms}, {@code attempts}, {@code metadata}
 * and {@code lease_id}; and {@code POST .../messages/ack} with {@code acks} and {@code retries}
 * ({@code delay_seconds}). It checks the Bearer token, leases each pulled message for the
 * visibility timeout and hands it out again when the lease ends unacked, and, as Cloudflare
 * documents, accepts an ack by any lease a message was given. Not modelled: max_retries.
 */
public final class CloudflareQueueStandIn implements AutoCloseable {

    /** What the stand-in does with ack requests. */
    public enum AckMode { APPLY, FAIL, HOLD }

    /** One request as it arrived: path, Authorization header, JSON body. */
    public record Request(String path, String authorization, JsonNode body, long arrivedMillis) {
    }

    private static final class Stored {
        final String id;
        final String body;
        final Map<String, String> metadata;
        final long timestampMs;
        int attempts;
        long visibleAt;
        String lease;
        long leaseEnds;
        final List<String> leases = new ArrayList<>();
        boolean acked;

        Stored(String id, String body, Map<String, String> metadata, long timestampMs) {
            this.id = id;
            this.body = body;
            this.metadata = metadata;
            this.timestampMs = timestampMs;
        }
    }

    private final String account;
    private final String queue;
    private final String token;
    private final HttpServer server;
    private final ExecutorService threads;
    private final ObjectMapper json = new ObjectMapper();
    private final SecureRandom random = new SecureRandom();
    private final List<Stored> messages = new ArrayList<>();
    private final List<Request> pulls = new CopyOnWriteArrayList<>();
    private final List<Request> acks = new CopyOnWriteArrayList<>();
    private final List<Request> refused = new CopyOnWriteArrayList<>();
    private final List<Integer> failures = new ArrayList<>();
    private final CountDownLatch closed = new CountDownLatch(1);
    private volatile String retryAfter;
    private volatile AckMode ackMode = AckMode.APPLY;

    public CloudflareQueueStandIn(String account, String queue, String token) throws IOException {
        this.account = account;
        this.queue = queue;
        this.token = token;
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        threads = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "cf-queue-stand-in");
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(threads);
        server.createContext("/", this::handle);
        server.start();
    }

    /** The API base URL, for relay.trigger.cloudflare-queue.api-url. */
    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** Publishes {@code body} as a producer would with content type {@code type} (text, json, bytes, v8). */
    public String send(String body, String type) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        String stored = type.equals("text") ? body : Base64.getEncoder().encodeToString(bytes);
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("CF-sourceMessageSource", "r2");
        metadata.put("CF-Content-Type", type);
        return sendAsPulled(stored, metadata);
    }

    /** Publishes a message whose pulled body and metadata are exactly these. */
    public synchronized String sendAsPulled(String pulledBody, Map<String, String> metadata) {
        byte[] id = new byte[16];
        random.nextBytes(id);
        Stored m = new Stored(HexFormat.of().formatHex(id), pulledBody, Map.copyOf(metadata),
                System.currentTimeMillis());
        messages.add(m);
        return m.id;
    }

    /** The next {@code count} pulls are answered with {@code status} (and Retry-After when not null). */
    public synchronized void failPulls(int count, int status, String retryAfterValue) {
        for (int i = 0; i < count; i++) {
            failures.add(status);
        }
        this.retryAfter = retryAfterValue;
    }

    /** APPLY (the default) acts on acks; FAIL answers them 503; HOLD keeps them unanswered until close. */
    public void acks(AckMode mode) {
        this.ackMode = mode;
    }

    public List<Request> pullRequests() {
        return List.copyOf(pulls);
    }

    public List<Request> ackRequests() {
        return List.copyOf(acks);
    }

    /** Requests refused for their token. */
    public List<Request> refusedRequests() {
        return List.copyOf(refused);
    }

    public synchronized boolean isAcked(String id) {
        return find(id).acked;
    }

    public synchronized int attempts(String id) {
        return find(id).attempts;
    }

    /** Messages not acked yet. */
    public synchronized long unacked() {
        return messages.stream().filter(m -> !m.acked).count();
    }

    private Stored find(String id) {
        return messages.stream().filter(m -> m.id.equals(id)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no message " + id));
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            byte[] raw = exchange.getRequestBody().readAllBytes();
            String auth = exchange.getRequestHeaders().getFirst("Authorization");
            String base = "/client/v4/accounts/" + account + "/queues/" + queue + "/messages/";
            if (!"POST".equals(exchange.getRequestMethod())) {
                answer(exchange, 405, error(10405, "Method not allowed"));
                return;
            }
            if (!("Bearer " + token).equals(auth)) {
                refused.add(new Request(path, auth, null, System.currentTimeMillis()));
                answer(exchange, 403, error(10000, "Authentication error"));
                return;
            }
            if (!path.equals(base + "pull") && !path.equals(base + "ack")) {
                answer(exchange, 404, error(7003, "Could not route to " + path + ", perhaps your object identifier"
                        + " is invalid?"));
                return;
            }
            JsonNode body;
            try {
                body = raw.length == 0 ? json.createObjectNode() : json.readTree(raw);
            } catch (IOException e) {
                answer(exchange, 400, error(10001, "request body is not JSON"));
                return;
            }
            Request request = new Request(path, auth, body, System.currentTimeMillis());
            if (path.endsWith("/pull")) {
                pulls.add(request);
                Integer failure = nextFailure();
                if (failure != null) {
                    if (retryAfter != null) {
                        exchange.getResponseHeaders().add("Retry-After", retryAfter);
                    }
                    answer(exchange, failure, error(failure == 429 ? 10429 : 10500, "injected failure " + failure));
                    return;
                }
                pull(exchange, body);
            } else {
                acks.add(request);
                ack(exchange, body);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private synchronized Integer nextFailure() {
        return failures.isEmpty() ? null : failures.remove(0);
    }

    private void pull(HttpExchange exchange, JsonNode body) throws IOException {
        int batch = body.path("batch_size").asInt(5);
        if (batch < 1 || batch > 100) {
            answer(exchange, 400, error(11003, "batch_size must be between 1 and 100"));
            return;
        }
        long visibility = body.path("visibility_timeout_ms").asLong(30_000);
        ObjectNode reply = ok();
        ArrayNode list = reply.putObject("result").putArray("messages");
        synchronized (this) {
            long now = System.currentTimeMillis();
            for (Stored m : messages) {
                if (list.size() >= batch) {
                    break;
                }
                boolean leased = m.lease != null && m.leaseEnds > now;
                if (m.acked || leased || m.visibleAt > now) {
                    continue;
                }
                byte[] lease = new byte[24];
                random.nextBytes(lease);
                m.lease = Base64.getUrlEncoder().withoutPadding().encodeToString(lease);
                m.leases.add(m.lease);
                m.leaseEnds = now + visibility;
                m.attempts++;
                ObjectNode out = list.addObject();
                out.put("body", m.body).put("id", m.id).put("timestamp_ms", m.timestampMs).put("attempts", m.attempts);
                ObjectNode metadata = out.putObject("metadata");
                m.metadata.forEach(metadata::put);
                out.put("lease_id", m.lease);
            }
            ((ObjectNode) reply.get("result")).put("message_backlog_count", unacked());
        }
        answer(exchange, 200, reply);
    }

    private void ack(HttpExchange exchange, JsonNode body) throws IOException, InterruptedException {
        AckMode mode = ackMode;
        if (mode == AckMode.HOLD) {
            closed.await(5, TimeUnit.MINUTES);
            return;
        }
        if (mode == AckMode.FAIL) {
            answer(exchange, 503, error(10500, "injected ack failure"));
            return;
        }
        int acked = 0;
        int retried = 0;
        ArrayNode warnings = json.createArrayNode();
        synchronized (this) {
            long now = System.currentTimeMillis();
            for (JsonNode a : body.path("acks")) {
                Stored m = byLease(a.path("lease_id").asText());
                if (m == null) {
                    warnings.add("unknown lease_id");
                } else {
                    m.acked = true;
                    acked++;
                }
            }
            for (JsonNode r : body.path("retries")) {
                Stored m = byLease(r.path("lease_id").asText());
                if (m == null) {
                    warnings.add("unknown lease_id");
                } else if (!m.acked) {
                    m.lease = null;
                    m.visibleAt = now + r.path("delay_seconds").asLong(0) * 1000;
                    retried++;
                }
            }
        }
        ObjectNode reply = ok();
        reply.putObject("result").put("ackCount", acked).put("retryCount", retried).set("warnings", warnings);
        answer(exchange, 200, reply);
    }

    private Stored byLease(String lease) {
        return messages.stream().filter(m -> m.leases.contains(lease)).findFirst().orElse(null);
    }

    private ObjectNode ok() {
        ObjectNode reply = json.createObjectNode().put("success", true);
        reply.putArray("errors");
        reply.putArray("messages");
        return reply;
    }

    private ObjectNode error(int code, String message) {
        ObjectNode reply = json.createObjectNode().put("success", false);
        reply.putArray("errors").addObject().put("code", code).put("message", message);
        reply.putArray("messages");
        reply.putNull("result");
        return reply;
    }

    private void answer(HttpExchange exchange, int status, ObjectNode body) throws IOException {
        byte[] bytes = json.writeValueAsBytes(body);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        closed.countDown();
        server.stop(0);
        threads.shutdownNow();
    }
}
