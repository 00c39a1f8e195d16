package dev.r2relay.jms;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.r2relay.config.SettingsException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class JmsSettingsTest {

    private static JmsSettings settings(String target, String... keyValues) {
        Map<String, String> p = new HashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            p.put(keyValues[i], keyValues[i + 1]);
        }
        return JmsSettings.from(key -> Optional.ofNullable(p.get(key)), target);
    }

    @Test
    void offForTheFileTargetOnForTheJmsTargetOrWhenAskedFor() {
        assertThat(settings("file").enabled()).isFalse();
        assertThat(settings("jms").enabled()).isTrue();
        assertThat(settings("file", "relay.jms.enabled", "true").enabled()).isTrue();
        assertThatThrownBy(() -> settings("jms", "relay.jms.enabled", "false"))
                .isInstanceOf(SettingsException.class).hasMessageContaining("relay.target=jms needs JMS");
    }

    @Test
    void aDeadLetterQueueTurnsJmsOnAndNeedsAQueueOfItsOwn() {
        JmsSettings s = settings("http", "relay.dead-letter", "jms:queue:r2.dead-letters");
        assertThat(s.enabled()).isTrue();
        assertThat(s.deadLetterQueue()).contains("r2.dead-letters");
        assertThat(settings("http", "relay.dead-letter", "/srv/dl").deadLetterQueue()).isEmpty();
        assertThatThrownBy(() -> settings("http", "relay.dead-letter", "jms:queue:x", "relay.jms.enabled", "false"))
                .hasMessageContaining("relay.dead-letter=jms:queue:x needs JMS");
        assertThatThrownBy(() -> settings("jms", "relay.dead-letter", "jms:queue:r2.objects"))
                .isInstanceOf(SettingsException.class).hasMessageContaining("also relay.jms.queue");
        assertThatThrownBy(() -> settings("http", "relay.dead-letter", "jms:queue:r2.fetch-requests"))
                .hasMessageContaining("also relay.trigger.queue");
        assertThatThrownBy(() -> settings("http", "relay.dead-letter", "jms:queue:DLQ"))
                .hasMessageContaining("also relay.trigger.queue.dead-letter");
    }

    @Test
    void defaults() {
        JmsSettings s = settings("jms");
        assertThat(s.external()).isFalse();
        assertThat(s.port()).isEqualTo(61616);
        assertThat(s.queue()).isEqualTo("r2.objects");
        assertThat(s.maxInlineSize()).isEqualTo(1048576);
        assertThat(s.linkExpiry()).isEqualTo(Duration.ofHours(1));
    }

    @Test
    void linkExpiryInSecondsOrIso8601FromOneSecondToSevenDays() {
        assertThat(JmsSettings.linkExpiry("900")).isEqualTo(Duration.ofMinutes(15));
        assertThat(JmsSettings.linkExpiry("PT2H")).isEqualTo(Duration.ofHours(2));
        assertThat(JmsSettings.linkExpiry("p7d")).isEqualTo(Duration.ofDays(7));
        assertThat(JmsSettings.linkExpiry("604800")).isEqualTo(Duration.ofDays(7));
        for (String bad : new String[] {"0", "604801", "P8D", "PT0.5S", "-5", "1h", "soon"}) {
            assertThatThrownBy(() -> settings("jms", "relay.jms.link-expiry", bad)).as(bad)
                    .isInstanceOf(SettingsException.class)
                    .hasMessageStartingWith("relay.jms.link-expiry (RELAY_JMS_LINK_EXPIRY) must be");
        }
    }

    @Test
    void rejectsBadNumbersAndNames() {
        assertThatThrownBy(() -> settings("jms", "relay.jms.max-inline-size", "-1"))
                .hasMessageContaining("relay.jms.max-inline-size (RELAY_JMS_MAX_INLINE_SIZE) must be a whole number");
        assertThatThrownBy(() -> settings("jms", "relay.jms.max-inline-size", "104857601"))
                .isInstanceOf(SettingsException.class);
        assertThatThrownBy(() -> settings("jms", "relay.jms.port", "70000"))
                .hasMessageContaining("relay.jms.port (RELAY_JMS_PORT)");
        assertThatThrownBy(() -> settings("jms", "relay.jms.queue", "my queue?x=1"))
                .hasMessageContaining("relay.jms.queue (RELAY_JMS_QUEUE)");
        assertThat(settings("jms", "relay.jms.max-inline-size", "0").maxInlineSize()).isZero();
    }

    @Test
    void credentialsBelongToAnExternalBrokerAndNeverToItsUrl() {
        assertThatThrownBy(() -> settings("jms", "relay.jms.username", "u", "relay.jms.password", "p"))
                .hasMessageContaining("set relay.jms.url");
        assertThatThrownBy(() -> settings("jms", "relay.jms.url", "tcp://b:61616?user=u&password=secret-in-url"))
                .hasMessageContaining("must not carry credentials").hasMessageNotContaining("secret-in-url");
        assertThatThrownBy(() -> settings("jms", "relay.jms.url",
                "tcp://b:61616?sslEnabled=true&trustStorePassword=secret-in-url"))
                .hasMessageContaining("must not carry credentials").hasMessageNotContaining("secret-in-url");
        assertThatThrownBy(() -> settings("jms", "relay.jms.url", "amqp://b:5672"))
                .hasMessageContaining("Artemis core URL");
        assertThatThrownBy(() -> settings("jms", "relay.jms.url", "tcp://b:61616", "relay.jms.password", "p"))
                .hasMessageContaining("relay.jms.username");
    }

    @Test
    void itsDescriptionNeverShowsThePassword() {
        JmsSettings s = settings("jms", "relay.jms.url", "tcp://broker.example:61616?sslEnabled=true",
                "relay.jms.username", "relay", "relay.jms.password", "s3cr3t-pw");
        assertThat(s.password()).isEqualTo("s3cr3t-pw");
        assertThat(s.toString()).contains("broker.example:61616").contains("relay").doesNotContain("s3cr3t-pw")
                .doesNotContain("sslEnabled");
    }
}
