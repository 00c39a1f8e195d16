package dev.r2relay.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SafeKeyPathsTest {

    @TempDir
    Path inbox;

    @ParameterizedTest
    @ValueSource(strings = {"..", "../escape.txt", "a/../../escape.txt", "a/b/../c", "a/..", "../../etc/passwd"})
    void refusesParentSegmentsWhereverTheyAre(String key) {
        assertThatThrownBy(() -> SafeKeyPaths.resolve(inbox, key))
                .isInstanceOf(RejectedKeyException.class)
                .hasMessageContaining("'..' segment");
    }

    @ParameterizedTest
    @ValueSource(strings = {".", "./a.txt", "a/./b.txt", "a/."})
    void refusesCurrentFolderSegments(String key) {
        assertThatThrownBy(() -> SafeKeyPaths.resolve(inbox, key))
                .isInstanceOf(RejectedKeyException.class)
                .hasMessageContaining("'.' segment");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/etc/passwd", "/a.txt", "//a.txt"})
    void refusesALeadingSlash(String key) {
        assertThatThrownBy(() -> SafeKeyPaths.resolve(inbox, key))
                .isInstanceOf(RejectedKeyException.class)
                .hasMessageContaining("starts with '/'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"a\\b.txt", "..\\..\\escape.txt", "\\a.txt"})
    void refusesBackslashes(String key) {
        assertThatThrownBy(() -> SafeKeyPaths.resolve(inbox, key))
                .isInstanceOf(RejectedKeyException.class)
                .hasMessageContaining("backslash");
    }

    @Test
    void refusesNulAndShowsItEscapedInTheMessage() {
        assertThatThrownBy(() -> SafeKeyPaths.resolve(inbox, "a\0.txt"))
                .isInstanceOf(RejectedKeyException.class)
                .hasMessageContaining("NUL")
                .hasMessageContaining("a\\u0000.txt")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\0"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"C:evil.txt", "c:/windows/x", "Z:", "a:b.txt"})
    void refusesDriveLetters(String key) {
        assertThatThrownBy(() -> SafeKeyPaths.resolve(inbox, key))
                .isInstanceOf(RejectedKeyException.class)
                .hasMessageContaining("drive letter");
    }

    @ParameterizedTest
    @ValueSource(strings = {"a/", "a/b/", ""})
    void refusesFolderMarkersAndTheEmptyKey(String key) {
        assertThatThrownBy(() -> SafeKeyPaths.resolve(inbox, key)).isInstanceOf(RejectedKeyException.class);
    }

    @Test
    void acceptsASegmentOfExactly255Utf8Bytes() {
        // 'é' is two bytes in UTF-8: 127 of them plus one ASCII letter make 255 bytes in 128 chars
        String name = "é".repeat(127) + "x";
        assertThat(name.getBytes(StandardCharsets.UTF_8)).hasSize(255);

        assertThat(SafeKeyPaths.resolve(inbox, "dir/" + name)).isEqualTo(inbox.resolve("dir").resolve(name));
    }

    @Test
    void refusesASegmentOver255Utf8BytesEvenWhenItHasFewerCharacters() {
        String name = "é".repeat(128); // 128 characters, 256 bytes
        assertThat(name).hasSize(128);

        assertThatThrownBy(() -> SafeKeyPaths.resolve(inbox, "dir/" + name))
                .isInstanceOf(RejectedKeyException.class)
                .hasMessageContaining("longer than 255 bytes");
    }

    @Test
    void refusesAnAsciiSegmentOf256Bytes() {
        assertThatThrownBy(() -> SafeKeyPaths.resolve(inbox, "a".repeat(256)))
                .isInstanceOf(RejectedKeyException.class)
                .hasMessageContaining("255 bytes");
    }

    @ParameterizedTest
    @ValueSource(strings = {"a//b", "a//b///c.txt", "a/b//c.txt", "dir//file.txt"})
    void refusesEmptySegmentsRatherThanCollapsingThem(String key) {
        assertThatThrownBy(() -> SafeKeyPaths.resolve(inbox, key))
                .isInstanceOf(RejectedKeyException.class)
                .hasMessageContaining("empty path segment ('//')");
    }

    @Test
    void keyWithAnEmptySegmentNeverTakesTheFileOfTheKeyWithout() {
        assertThat(SafeKeyPaths.resolve(inbox, "a/b")).isEqualTo(inbox.resolve("a").resolve("b"));
        assertThatThrownBy(() -> SafeKeyPaths.resolve(inbox, "a//b"))
                .isInstanceOf(RejectedKeyException.class)
                .hasMessage("key 'a//b' rejected: an empty path segment ('//') has no file path of its own");
    }

    @ParameterizedTest
    @ValueSource(strings = {"with space.txt", "reports/2024 Q1/summary final.pdf", "100%.txt", "a%2F..%2Fb",
        "c++/notes+more.txt", "日本語/ファイル.txt", "emoji-😀.png", "...", "..hidden", "a..b", ".env",
        "question?.txt", "hash#tag", "ab:c.txt"})
    void acceptsOrdinaryKeysAndKeepsTheirFoldersBelowTheInbox(String key) {
        Path file = SafeKeyPaths.resolve(inbox, key);

        assertThat(file).startsWithRaw(inbox);
        assertThat(inbox.relativize(file).toString()).isEqualTo(key);
    }

    @Test
    void resolvesAgainstTheNormalizedInbox() {
        Path messy = inbox.resolve("x").resolve("..");

        assertThat(SafeKeyPaths.resolve(messy, "a.txt")).isEqualTo(inbox.resolve("a.txt"));
    }

    @Test
    void refusesAPathOverTheLinuxLimit() {
        String segment = "s".repeat(200);
        String key = (segment + "/").repeat(21) + "f.txt"; // about 4,200 bytes

        assertThatThrownBy(() -> SafeKeyPaths.resolve(inbox, key))
                .isInstanceOf(RejectedKeyException.class)
                .hasMessageContaining("4095 bytes");
    }
}
