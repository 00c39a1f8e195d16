package dev.r2relay.deadletter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.r2relay.config.SettingsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FolderDeadLetterStoreTest {

    @TempDir
    Path dir;

    private static DeadLetter letter(String key, Integer status, Instant time) {
        return new DeadLetter("b1", key, "0123abcd", 42, "https://h/in/x", status, "HTTP 400: \"bad\"\nline",
                3, time);
    }

    @Test
    void keepsOneJsonRecordPerObjectAndReadsItBack() throws Exception {
        FolderDeadLetterStore store = new FolderDeadLetterStore(dir.resolve("dl"));
        assertThat(store.list()).isEmpty();
        DeadLetter first = letter("../odd key/✓.txt", 400, Instant.parse("2026-01-02T03:04:05Z"));
        store.put(first);
        store.put(letter("other", null, Instant.parse("2026-01-01T00:00:00Z")));
        DeadLetter again = letter("../odd key/✓.txt", 503, Instant.parse("2026-01-03T00:00:00Z"));
        store.put(again);

        assertThat(store.list()).extracting(DeadLetter::key).containsExactly("other", "../odd key/✓.txt");
        assertThat(store.list().get(1)).isEqualTo(again);
        assertThat(store.list().get(0).status()).isNull();
        Path file = store.fileOf("b1", "../odd key/✓.txt");
        assertThat(file.getParent()).isEqualTo(dir.resolve("dl"));
        assertThat(Files.readString(file)).contains("\"bucket\": \"b1\"", "\"status\": 503", "\"attempts\": 3",
                "\"time\": \"2026-01-03T00:00:00Z\"");

        Files.writeString(dir.resolve("dl/garbage.json"), "{not json");
        assertThat(store.list()).hasSize(2);
        assertThat(store.remove("b1", "other")).isTrue();
        assertThat(store.remove("b1", "other")).isFalse();
        assertThat(store.list()).extracting(DeadLetter::key).containsExactly("../odd key/✓.txt");
    }

    @Test
    void readsTheSettingAsAFolderOrAQueueAndRefusesOtherSchemes() {
        assertThat(((FolderDeadLetterStore) DeadLetterStores.open("", "/srv/state")).folder())
                .isEqualTo(Path.of("/srv/state/dead-letters"));
        assertThat(((FolderDeadLetterStore) DeadLetterStores.open("file:/srv/dl", "x")).folder())
                .isEqualTo(Path.of("/srv/dl"));
        assertThat(((FolderDeadLetterStore) DeadLetterStores.open("/srv/dl2", "x")).folder())
                .isEqualTo(Path.of("/srv/dl2"));
        assertThat(DeadLetterStores.queueName("jms:queue:r2.dead-letters")).contains("r2.dead-letters");
        assertThat(DeadLetterStores.queueName("jms:dead")).contains("dead");
        assertThat(DeadLetterStores.queueName("/srv/dl")).isEmpty();
        assertThat(DeadLetterStores.queueName("file:/srv/dl")).isEmpty();
        assertThatThrownBy(() -> DeadLetterStores.open("jms:queue:dead", "x"))
                .hasMessageContaining("needs the JMS connection");
        assertThatThrownBy(() -> DeadLetterStores.open("s3:bucket/dl", "x")).isInstanceOf(SettingsException.class)
                .hasMessageContaining("relay.dead-letter (RELAY_DEAD_LETTER)").hasMessageContaining("'s3:' is not");
        assertThatThrownBy(() -> DeadLetterStores.queueName("jms:queue:bad name"))
                .isInstanceOf(SettingsException.class).hasMessageContaining("'bad name'");
    }
}
