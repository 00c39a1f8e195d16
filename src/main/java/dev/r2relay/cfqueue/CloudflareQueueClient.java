package dev.r2relay.cfqueue;

import static dev.r2relay.config.RelaySettings.envName;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.r2relay.http.HttpRetryPolicy;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The two calls of Cloudflare's Queues HTTP pull API, over the JDK's HTTP client with the API token
 * as a Bearer token: {@code POST .../messages/pull} with {@code batch_size} and
 * {@code visibility_timeout_ms}, and {@code POST .../messages/ack} with {@code acks} and
 * {@code retries} (each retry with {@code delay_seconds}).
 */
public final class CloudflareQueueClient {

    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

    private final CloudflareQueueSettings settings;
    private final HttpClient http;
    private final ObjectMapper json = new ObjectMapper();

    public CloudflareQueueClient(CloudflareQueueSettings settings) {
        this.settings = settings;
        this.http = HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** Pulls at most {@code batch-size} messages, each leased for {@code visibility-timeout}. */
    public List<QueueMessage> pull() throws QueueApiException {
        ObjectNode request = json.createObjectNode()
                .put("batch_size", settings.batchSize())
                .put("visibility_timeout_ms", settings.visibilityTimeoutMs());
        JsonNode result = call("pull", request);
        List<QueueMessage> messages = new ArrayList<>();
        JsonNode list = result.path("messages");
        if (!list.isMissingNode() && !list.isNull() && !list.isArray()) {
            throw new QueueApiException("the Cloudflare Queues API answered a pull with result.messages that is not"
                    + " an array", 200, null, null);
        }
        for (JsonNode m : list) {
            Map<String, String> metadata = new LinkedHashMap<>();
            m.path("metadata").fields().forEachRemaining(e -> metadata.put(e.getKey(), e.getValue().asText()));
            String lease = m.path("lease_id").asText(null);
            if (lease == null || lease.isEmpty()) {
                throw new QueueApiException("the Cloudflare Queues API answered a pull with a message without"
                        + " lease_id (id " + m.path("id").asText("?") + ")", 200, null, null);
            }
            messages.add(new QueueMessage(m.path("id").asText(""), m.path("body").asText(""),
                    m.path("attempts").asInt(0), lease, m.path("timestamp_ms").asLong(0), metadata));
        }
        return messages;
    }

    /**
     * Acknowledges the messages of {@code acks} and puts those of {@code retries} back, visible again
     * after {@code delaySeconds}; both lists hold lease ids.
     */
    public void settle(Collection<String> acks, Collection<String> retries, long delaySeconds)
            throws QueueApiException {
        ObjectNode request = json.createObjectNode();
        ArrayNode ackList = request.putArray("acks");
        acks.forEach(lease -> ackList.addObject().put("lease_id", lease));
        ArrayNode retryList = request.putArray("retries");
        retries.forEach(lease -> retryList.addObject().put("lease_id", lease).put("delay_seconds", delaySeconds));
        call("ack", request);
    }

    /** Where the API is, for logs: no token in it. */
    public String describe() {
        return settings.messagesUrl("").toString();
    }

    private JsonNode call(String action, ObjectNode body) throws QueueApiException {
        URI url = settings.messagesUrl(action);
        HttpRequest request = HttpRequest.newBuilder(url)
                .timeout(REQUEST_TIMEOUT)
                .header("Authorization", "Bearer " + settings.apiToken())
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                .build();
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (HttpTimeoutException e) {
            throw new QueueApiException("the Cloudflare Queues API at " + settings.apiUrl() + " did not answer "
                    + action + " within " + REQUEST_TIMEOUT.toSeconds() + " s", 0, null, e);
        } catch (ConnectException e) {
            throw new QueueApiException("cannot connect to the Cloudflare Queues API at " + settings.apiUrl()
                    + " (" + API_URL_HINT + "): " + (e.getMessage() == null ? "connection refused" : e.getMessage()),
                    0, null, e);
        } catch (IOException e) {
            throw new QueueApiException("the Cloudflare Queues API at " + settings.apiUrl() + " failed on " + action
                    + ": " + e, 0, null, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QueueApiException("interrupted while calling the Cloudflare Queues API", 0, null, e);
        }
        int status = response.statusCode();
        JsonNode answer = parse(response.body());
        if (status / 100 == 2 && answer != null && answer.path("success").asBoolean(true)) {
            return answer.path("result");
        }
        throw refused(action, status, answer, response.headers().firstValue("Retry-After").orElse(null));
    }

    private static final String API_URL_HINT = CloudflareQueueSettings.API_URL + ", "
            + envName(CloudflareQueueSettings.API_URL);

    private QueueApiException refused(String action, int status, JsonNode answer, String retryAfter) {
        String detail = errors(answer);
        String what = "the Cloudflare Queues API answered " + action + " with HTTP " + status
                + (detail.isEmpty() ? "" : " (" + detail + ")");
        String fix = switch (status) {
            case 400 -> ": the request was refused; check " + CloudflareQueueSettings.BATCH_SIZE + " and "
                    + CloudflareQueueSettings.VISIBILITY_TIMEOUT + ", and that the queue has an HTTP pull consumer"
                    + " (npx wrangler queues consumer http add QUEUE-NAME)";
            case 401, 403 -> ": the API token was refused; check " + CloudflareQueueSettings.API_TOKEN + " ("
                    + envName(CloudflareQueueSettings.API_TOKEN) + "): it needs Queues Read and Queues Write"
                    + " (Edit) on account " + settings.accountId();
            case 404 -> ": no such queue; check " + CloudflareQueueSettings.QUEUE_ID + " ("
                    + settings.queueId() + ") and " + CloudflareQueueSettings.ACCOUNT_ID + " ("
                    + settings.accountId() + "), and " + CloudflareQueueSettings.API_URL;
            case 429 -> ": too many requests";
            default -> status / 100 == 5 ? ": a server error" : "";
        };
        return new QueueApiException(what + fix, status, HttpRetryPolicy.parseRetryAfter(retryAfter, Instant.now()),
                null);
    }

    /** Cloudflare's {@code errors[]} as "code 10000: Authentication error"; never echoes request headers. */
    private static String errors(JsonNode answer) {
        if (answer == null) {
            return "";
        }
        List<String> parts = new ArrayList<>();
        for (JsonNode e : answer.path("errors")) {
            String message = e.path("message").asText("");
            parts.add((e.has("code") ? "code " + e.path("code").asText() + ": " : "")
                    + (message.length() > 200 ? message.substring(0, 200) + "..." : message));
        }
        return String.join("; ", parts);
    }

    private JsonNode parse(String body) {
        if (body == null || body.isBlank()) {
            return null;
        }
        try {
            return json.readTree(body);
        } catch (JsonProcessingException e) {
            return null;
        }
    }
}
