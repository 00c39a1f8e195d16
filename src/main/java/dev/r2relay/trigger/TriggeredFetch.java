package dev.r2relay.trigger;

import dev.r2relay.delivery.DeliveryClaims;
import dev.r2relay.delivery.RejectedKeyException;
import dev.r2relay.delivery.RelayHeaders;
import dev.r2relay.delivery.SafeKeyPaths;
import dev.r2relay.state.DeliveryLedger;
import dev.r2relay.state.ObjectRef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.component.aws2.s3.AWS2S3Constants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Turns a fetch request into a delivery of the object's current version, once: a HEAD learns the
 * current ETag (an event may name an older one), the ledger drops duplicates, and the GET is made
 * conditional on that ETag so that what is delivered is exactly what was checked. The object is
 * claimed first ({@link DeliveryClaims}): while another delivery of it runs, the trigger fails and
 * its source tries it again.
 */
public final class TriggeredFetch {

    /** Set to true on requests that need no delivery (already delivered, or gone). */
    public static final String SKIP = "R2RelaySkip";
    /** Marks exchanges that a trigger started: failures go back to the trigger's source. */
    public static final String TRIGGER = "R2RelayTrigger";

    private static final Logger LOG = LoggerFactory.getLogger("dev.r2relay.trigger");

    private final S3Client s3;
    private final DeliveryLedger ledger;
    private final DeliveryClaims claims;
    private final TriggerParser parser;
    private final Path inbox;
    private final boolean deleteFiles;

    public TriggeredFetch(S3Client s3, DeliveryLedger ledger, DeliveryClaims claims, TriggerParser parser, Path inbox,
                          boolean deleteFiles) {
        this.s3 = s3;
        this.ledger = ledger;
        this.claims = claims;
        this.parser = parser;
        this.inbox = inbox;
        this.deleteFiles = deleteFiles;
    }

    /** Reads the trigger body into requests; an unreadable body is an {@link InvalidTriggerException}. */
    public List<FetchRequest> parse(Exchange exchange) {
        String body = exchange.getMessage().getBody(String.class);
        return parser.parse(body);
    }

    /**
     * Checks that the trigger body can be read, without delivering; lets a trigger's own route turn an
     * unreadable body away (a 400, a dead-letter queue) before any fetch starts.
     */
    public void validate(Exchange exchange) {
        parse(exchange);
    }

    /** Sets the delivery headers for a create request, or {@link #SKIP} when nothing is to be done. */
    public void prepare(Exchange exchange) throws Exception {
        FetchRequest request = exchange.getMessage().getMandatoryBody(FetchRequest.class);
        Message m = exchange.getMessage();
        m.setHeader(TRIGGER, request.eventAction() == null ? "request" : request.eventAction());
        HeadObjectResponse head;
        try {
            head = s3.headObject(b -> b.bucket(request.bucket()).key(request.key()));
        } catch (NoSuchKeyException e) {
            skip(m, "trigger for {}/{} skipped: the bucket holds no such object (deleted, or never stored)", request);
            return;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                skip(m, "trigger for {}/{} skipped: the bucket holds no such object (deleted, or never stored)", request);
                return;
            }
            throw e;
        }
        String current = ObjectRef.bareEtag(head.eTag());
        if (current.equals(ledger.recordedEtag(request.bucket(), request.key()))) {
            skip(m, "trigger for {}/{} skipped: its current version is already settled", request);
            return;
        }
        if (request.etag() != null && !request.etag().equals(current)) {
            LOG.info("trigger for {}/{} names ETag {}, the bucket holds a newer version {}: delivering that",
                    request.bucket(), RejectedKeyException.printable(request.key()), request.etag(), current);
        }
        ObjectRef ref = new ObjectRef(request.bucket(), request.key(), current, head.contentLength(),
                head.lastModified(), false);
        m.setBody(ref);
        new RelayHeaders().describe(exchange);
        m.setHeader(AWS2S3Constants.IF_MATCH_CONDITION, head.eTag());
        switch (claims.tryClaim(exchange)) {
            case SETTLED -> skip(m, "trigger for {}/{} skipped: another delivery settled it meanwhile", request);
            case HELD -> throw new ObjectBusyException("another delivery of " + request.bucket() + "/"
                    + RejectedKeyException.printable(request.key()) + " is under way (a poll, another trigger or"
                    + " another instance); the trigger is tried again later");
            default -> m.setHeader(SKIP, false);
        }
    }

    /**
     * An object was deleted in the bucket: logged, and its delivered file removed when configured,
     * unless the bucket holds the key again (the delete event came late or out of order).
     */
    public void deleted(Exchange exchange) throws Exception {
        FetchRequest request = exchange.getMessage().getMandatoryBody(FetchRequest.class);
        String key = RejectedKeyException.printable(request.key());
        if (!deleteFiles) {
            LOG.info("{}/{} was deleted in the bucket ({}); its delivered copy is kept", request.bucket(), key,
                    request.eventAction());
            return;
        }
        String current = currentEtag(request);
        if (current != null) {
            // a late or out-of-order event: the object was written again after the delete
            LOG.info("{}/{} was deleted in the bucket ({}), but the bucket holds it again (ETag {}): the delivered"
                    + " copy is kept", request.bucket(), key, request.eventAction(), current);
            return;
        }
        Path file;
        try {
            file = SafeKeyPaths.resolve(inbox, request.key());
        } catch (RejectedKeyException e) {
            LOG.info("{}/{} was deleted in the bucket; it was never written ({})", request.bucket(), key,
                    e.getMessage());
            return;
        }
        try {
            boolean removed = Files.deleteIfExists(file);
            ledger.forget(request.bucket(), request.key());
            LOG.info("{}/{} was deleted in the bucket ({}); {}", request.bucket(), key, request.eventAction(),
                    removed ? "removed " + file : "no delivered file to remove");
        } catch (IOException e) {
            throw new IOException("could not remove " + file + " after " + key + " was deleted: " + e.getMessage(), e);
        }
    }

    /** The object's current ETag, or null when it does not exist. */
    private String currentEtag(FetchRequest request) {
        try {
            return ObjectRef.bareEtag(s3.headObject(b -> b.bucket(request.bucket()).key(request.key())).eTag());
        } catch (NoSuchKeyException e) {
            return null;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return null;
            }
            throw e;
        }
    }

    private static void skip(Message m, String message, FetchRequest request) {
        LOG.info(message, request.bucket(), RejectedKeyException.printable(request.key()));
        m.setHeader(SKIP, true);
    }
}
