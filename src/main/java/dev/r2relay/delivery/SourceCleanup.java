package dev.r2relay.delivery;

import dev.r2relay.config.RelaySettings;
import dev.r2relay.config.RelaySettings.AfterDelivery;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CopyObjectRequest;
import software.amazon.awssdk.services.s3.model.DeleteObjectRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * Deletes or moves (copy, then delete) an object once it is delivered and recorded. Only the
 * delivered version is touched: an object overwritten since is left in place for the next poll.
 */
public final class SourceCleanup {

    private static final Logger LOG = LoggerFactory.getLogger(SourceCleanup.class);

    private final S3Client s3;
    private final AfterDelivery mode;
    private final String moveBucket;
    private final String movePrefix;

    public SourceCleanup(S3Client s3, RelaySettings settings) {
        this.s3 = s3;
        this.mode = settings.afterDelivery();
        this.moveBucket = settings.moveBucket();
        this.movePrefix = settings.movePrefix();
    }

    public void cleanUp(Exchange exchange) {
        if (mode == AfterDelivery.KEEP) {
            return;
        }
        Message m = exchange.getMessage();
        String bucket = m.getHeader(RelayHeaders.BUCKET, String.class);
        String key = m.getHeader(RelayHeaders.KEY, String.class);
        String etag = m.getHeader(RelayHeaders.ETAG, String.class);
        HeadObjectResponse head;
        try {
            head = s3.headObject(b -> b.bucket(bucket).key(key));
        } catch (NoSuchKeyException e) {
            LOG.debug("{}/{} is already gone; nothing to {}", bucket, key, mode);
            return;
        }
        String current = dev.r2relay.state.ObjectRef.bareEtag(head.eTag());
        if (!current.equals(etag)) {
            LOG.warn("not {}: {}/{} changed since it was delivered (ETag {} now {}); the new version is"
                    + " delivered at the next poll", mode == AfterDelivery.DELETE ? "deleted" : "moved", bucket,
                    RejectedKeyException.printable(key), etag, current);
            return;
        }
        if (mode == AfterDelivery.MOVE) {
            String destination = movePrefix + key;
            s3.copyObject(CopyObjectRequest.builder()
                    .sourceBucket(bucket).sourceKey(key)
                    .destinationBucket(moveBucket).destinationKey(destination)
                    .copySourceIfMatch(head.eTag())
                    .build());
            LOG.debug("Copied {}/{} to {}/{}", bucket, key, moveBucket, destination);
        }
        // LIMITATION: a server that ignores If-Match on DELETE would lose an overwrite made in the
        // moments between the HEAD above and this request; AWS S3 honours it, R2 does not document it.
        try {
            s3.deleteObject(DeleteObjectRequest.builder().bucket(bucket).key(key).ifMatch(head.eTag()).build());
        } catch (S3Exception e) {
            if (e.statusCode() == 412) {
                LOG.warn("not removed: {}/{} changed while it was being {}; the new version is delivered at"
                        + " the next poll", bucket, RejectedKeyException.printable(key),
                        mode == AfterDelivery.DELETE ? "deleted" : "moved");
                return;
            }
            throw e;
        }
        LOG.debug("{} {}/{}", mode == AfterDelivery.MOVE ? "Moved" : "Deleted", bucket, key);
    }
}
