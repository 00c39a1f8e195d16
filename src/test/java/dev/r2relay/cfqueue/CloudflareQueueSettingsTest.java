package dev.r2relay.cfqueue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.r2relay.config.SettingsException;
import dev.r2relay.trigger.InvalidTriggerException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The relay.trigger.cloudflare-queue.* settings, and how message bodies are decoded. */
class CloudflareQueueSettingsTest {

    private static final String ACCOUNT = "3f4b7e3dcab231cbfdaa90a6a28bd548";
    private static final String QUEUE = "9a0364b9e99bb480dd25e1f0284c8555";
    private static final String TOKEN = "tok-never-shown";

    private static CloudflareQueueSettings settings(String... keyValues) {
        Map<String, String> p = new HashMap<>();
        p.put("relay.trigger.cloudflare-queue.enabled", "true");
        p.put("relay.trigger.cloudflare-queue.account-id", ACCOUNT);
        p.put("relay.trigger.cloudflare-queue.queue-id", QUEUE);
        p.put("relay.trigger.cloudflare-queue.api-token", TOKEN);
        for (int i = 0; i < keyValues.length; i += 2) {
            p.put(keyValues[i], keyValues[i + 1]);
        }
        return CloudflareQueueSettings.from(key -> Optional.ofNullable(p.get(key)));
    }

    @Test
    void offByDefaultAndThenNeedsNothing() {
        CloudflareQueueSettings off = CloudflareQueueSettings.from(key -> Optional.empty());
        assertThat(off.enabled()).isFalse();
    }

    @Test
    void defaultsFollowCloudflareLimitsAndTheUrlsAreTheDocumentedOnes() {
        CloudflareQueueSettings s = settings();
        assertThat(s.batchSize()).isEqualTo(10);
        assertThat(s.visibilityTimeoutMs()).isEqualTo(300_000);
        assertThat(s.retryDelaySeconds()).isEqualTo(30);
        assertThat(s.pollIntervalMs()).isEqualTo(5000);
        assertThat(s.messagesUrl("pull")).hasToString("https://api.cloudflare.com/client/v4/accounts/" + ACCOUNT
                + "/queues/" + QUEUE + "/messages/pull");
        assertThat(settings("relay.trigger.cloudflare-queue.api-url", "http://127.0.0.1:8787/").messagesUrl("ack"))
                .hasToString("http://127.0.0.1:8787/client/v4/accounts/" + ACCOUNT + "/queues/" + QUEUE
                        + "/messages/ack");
    }

    @Test
    void theAccountDefaultsToTheR2Account() {
        CloudflareQueueSettings s = settings("relay.trigger.cloudflare-queue.account-id", "",
                "r2.account-id", "0123456789abcdef0123456789abcdef");
        assertThat(s.accountId()).isEqualTo("0123456789abcdef0123456789abcdef");
    }

    @Test
    void missingOrWrongSettingsAreNamedWithTheirVariables() {
        assertThatThrownBy(() -> settings("relay.trigger.cloudflare-queue.queue-id", ""))
                .isInstanceOf(SettingsException.class)
                .hasMessageContaining(
                        "relay.trigger.cloudflare-queue.queue-id (RELAY_TRIGGER_CLOUDFLARE_QUEUE_QUEUE_ID)");
        assertThatThrownBy(() -> settings("relay.trigger.cloudflare-queue.queue-id", "r2-events"))
                .hasMessageContaining("must be the queue's id").hasMessageContaining("not its name");
        assertThatThrownBy(() -> settings("relay.trigger.cloudflare-queue.api-token", " "))
                .hasMessageContaining("RELAY_TRIGGER_CLOUDFLARE_QUEUE_API_TOKEN");
        assertThatThrownBy(() -> settings("relay.trigger.cloudflare-queue.account-id", "acme"))
                .hasMessageContaining("relay.trigger.cloudflare-queue.account-id").hasMessageContaining("32-character");
        assertThatThrownBy(() -> settings("relay.trigger.cloudflare-queue.batch-size", "101"))
                .hasMessage("relay.trigger.cloudflare-queue.batch-size (RELAY_TRIGGER_CLOUDFLARE_QUEUE_BATCH_SIZE)"
                        + " must be a whole number from 1 to 100, got '101'");
        assertThatThrownBy(() -> settings("relay.trigger.cloudflare-queue.visibility-timeout", "43200001"))
                .hasMessageContaining("from 1000 to 43200000");
        assertThatThrownBy(() -> settings("relay.trigger.cloudflare-queue.retry-delay", "-1"))
                .hasMessageContaining("relay.trigger.cloudflare-queue.retry-delay");
        assertThatThrownBy(() -> settings("relay.trigger.cloudflare-queue.api-url", "https://u:p@api.example"))
                .hasMessageContaining("without credentials").hasMessageNotContaining("u:p");
        assertThatThrownBy(() -> settings("relay.trigger.cloudflare-queue.enabled", "yes"))
                .hasMessageContaining("true or false");
    }

    @Test
    void itsDescriptionNeverShowsTheToken() {
        assertThat(settings().toString()).contains(QUEUE, ACCOUNT).doesNotContain(TOKEN);
    }

    @Test
    void bodiesAreDecodedAsTheirContentTypeSays() {
        String event = "{\"action\":\"PutObject\",\"object\":{\"key\":\"a.csv\"}}";
        String b64 = Base64.getEncoder().encodeToString(event.getBytes(StandardCharsets.UTF_8));
        assertThat(decode(b64, "json")).isEqualTo(event);
        assertThat(decode(b64, "bytes")).isEqualTo(event);
        assertThat(decode("reports/a b.csv", "text")).isEqualTo("reports/a b.csv");
        assertThat(decode(b64, null)).isEqualTo(event);
        assertThat(decode(event, null)).isEqualTo(event);
        // a bare key that happens to be valid base64 stays a key without a content type
        assertThat(decode("abcd", null)).isEqualTo("abcd");
        assertThatThrownBy(() -> decode("{not base64}", "json")).isInstanceOf(InvalidTriggerException.class)
                .hasMessageContaining("content type is json but its body is not base64");
        assertThatThrownBy(() -> decode(Base64.getEncoder().encodeToString(new byte[] {(byte) 0xff, 0x00}), "bytes"))
                .isInstanceOf(InvalidTriggerException.class).hasMessageContaining("not UTF-8");
        assertThatThrownBy(() -> decode("AAAA", "v8")).isInstanceOf(InvalidTriggerException.class)
                .hasMessageContaining("v8");
    }

    private static String decode(String body, String type) {
        return CloudflareQueueTrigger.decode(new QueueMessage("id", body, 1, "lease", 0,
                type == null ? Map.of() : Map.of("CF-Content-Type", type)));
    }
}
