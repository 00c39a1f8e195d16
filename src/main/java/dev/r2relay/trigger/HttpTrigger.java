package dev.r2relay.trigger;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The answers of POST /fetch: the body is read with the {@link TriggerParser} before anything is
 * queued, so a caller learns at once that a trigger is unreadable (400) or accepted (202, with
 * the objects it names). Accepted means queued for delivery, not delivered.
 */
public final class HttpTrigger {

    /** The exchange property holding the requests a valid body names. */
    public static final String ACCEPTED = "R2RelayAccepted";

    private static final Logger LOG = LoggerFactory.getLogger("dev.r2relay.trigger");
    private static final String JSON = "application/json";

    private final TriggerParser parser;
    private final ObjectMapper json = new ObjectMapper();

    public HttpTrigger(TriggerParser parser) {
        this.parser = parser;
    }

    /** Parses the body without delivering anything; an unreadable body is an {@link InvalidTriggerException}. */
    public void validate(Exchange exchange) {
        String type = exchange.getMessage().getHeader(Exchange.CONTENT_TYPE, "", String.class)
                .toLowerCase(Locale.ROOT);
        if (type.startsWith("application/x-www-form-urlencoded") || type.startsWith("multipart/")) {
            // the server decodes form bodies into fields, which would change the key
            throw new InvalidTriggerException("a form body (" + type + ") is not a trigger: send the key as"
                    + " text/plain or JSON as application/json (curl: -H 'Content-Type: text/plain')");
        }
        List<FetchRequest> requests = parser.parse(exchange.getMessage().getBody(String.class));
        exchange.setProperty(ACCEPTED, requests);
    }

    /** 202 and the objects the trigger names; their delivery is queued. */
    @SuppressWarnings("unchecked")
    public void accepted(Exchange exchange) {
        List<FetchRequest> requests = exchange.getProperty(ACCEPTED, List.class);
        ObjectNode body = json.createObjectNode().put("status", "accepted");
        ArrayNode objects = body.putArray("objects");
        for (FetchRequest r : requests) {
            objects.addObject().put("bucket", r.bucket()).put("key", r.key())
                    .put("action", r.action().name().toLowerCase(Locale.ROOT));
        }
        body.put("message", "queued for delivery; 202 means accepted, not delivered");
        LOG.debug("HTTP trigger accepted: {} object(s)", requests.size());
        answer(exchange, 202, body);
    }

    /** 400 and why the body cannot be read; nothing was queued. */
    public void badRequest(Exchange exchange) {
        Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        answer(exchange, 400, json.createObjectNode().put("status", "rejected")
                .put("error", cause == null ? "unreadable trigger" : cause.getMessage()));
    }

    /** 503 when the trigger queue is full (try again later), 500 otherwise; nothing was queued. */
    public void notAccepted(Exchange exchange) {
        Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        boolean full = cause instanceof IllegalStateException && "Queue full".equals(cause.getMessage());
        String error = full ? "the trigger queue is full (relay.trigger.http.queue-size); try again later"
                : "the trigger could not be queued: " + (cause == null ? "unknown failure" : cause.getMessage());
        LOG.warn("HTTP trigger not accepted: {}", error);
        answer(exchange, full ? 503 : 500, json.createObjectNode().put("status", "not accepted").put("error", error));
    }

    private void answer(Exchange exchange, int status, ObjectNode body) {
        Message m = exchange.getMessage();
        // request headers must not go back as response headers
        m.removeHeaders("*");
        m.setHeader(Exchange.HTTP_RESPONSE_CODE, status);
        m.setHeader(Exchange.CONTENT_TYPE, JSON);
        m.setBody(body.toString());
    }
}
