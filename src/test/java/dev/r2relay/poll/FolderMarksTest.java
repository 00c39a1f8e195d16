package dev.r2relay.poll;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import dev.r2relay.state.ObjectRef;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FolderMarksTest {

    private static final Instant WHEN = Instant.parse("2024-08-02T10:00:00Z");

    @Test
    void marksAKeyThatAnotherKeyContinuesWithASlash() {
        Map<String, Boolean> marks = run(List.of("a/b", "a/b/c"));

        assertThat(marks).containsExactlyInAnyOrderEntriesOf(Map.of("a/b", true, "a/b/c", false));
    }

    @Test
    void marksAcrossSiblingsThatSortBetweenTheKeyAndItsFolder() {
        // S3 lists in UTF-8 byte order: '-' (0x2d) and '.' (0x2e) sort before '/' (0x2f)
        List<String> listing = List.of("a/b", "a/b-1", "a/b.txt", "a/b/c");
        assertThat(listing).isSortedAccordingTo(FolderMarksTest::utf8Order);

        Map<String, Boolean> marks = run(listing);

        assertThat(marks).containsExactlyInAnyOrderEntriesOf(Map.of(
                "a/b", true, "a/b-1", false, "a/b.txt", false, "a/b/c", false));
    }

    @Test
    void aKeyNoFileTargetTakesMakesNoFolderOfTheKeyItContinues() {
        // a//b, a/../c and a/<300 bytes> are rejected by SafeKeyPaths, so they need no folder a
        List<String> listing = List.of("a", "a/../c", "a//b", "a/" + "s".repeat(300), "b", "b//c", "b/d");
        assertThat(listing).isSortedAccordingTo(FolderMarksTest::utf8Order);

        Map<String, Boolean> marks = run(listing);

        assertThat(marks).containsEntry("a", false).containsEntry("b", true).containsEntry("b//c", false);
    }

    @Test
    void leavesKeysUnmarkedWhenNothingContinuesThem() {
        Map<String, Boolean> marks = run(List.of("a/b", "a/b-1", "a/b.txt", "a/bc", "b"));

        assertThat(marks).containsOnlyKeys("a/b", "a/b-1", "a/b.txt", "a/bc", "b").doesNotContainValue(true);
    }

    @Test
    void marksEveryLevelOfANestedChain() {
        Map<String, Boolean> marks = run(List.of("a", "a!x", "a!x/y", "a-1", "a/b", "a/b/c", "a/b/c/d", "a0"));

        assertThat(marks).containsExactlyInAnyOrderEntriesOf(Map.of(
                "a", true, "a!x", true, "a!x/y", false, "a-1", false,
                "a/b", true, "a/b/c", true, "a/b/c/d", false, "a0", false));
    }

    @Test
    void releasesEveryKeyExactlyOnceThoughNotInListingOrder() {
        List<String> listing = List.of("a/b", "a/b-1", "a/b.txt", "a/b/c", "z");
        List<ObjectRef> released = new ArrayList<>();
        ObjectLister.FolderMarks marks = new ObjectLister.FolderMarks();
        for (String key : listing) {
            marks.offer(ref(key), released);
        }
        marks.drain(released);

        assertThat(released).extracting(ObjectRef::key).containsExactlyInAnyOrderElementsOf(listing);
        // a/b waits for its siblings to show whether a folder follows; it is released after them
        assertThat(released).extracting(ObjectRef::key).containsSubsequence("a/b-1", "a/b.txt", "a/b");
    }

    @Test
    void holdsAKeyAcrossPagesUntilTheKeyThatDecidesItArrives() {
        // one FolderMarks spans a listing; each page hands in its own list
        ObjectLister.FolderMarks marks = new ObjectLister.FolderMarks();
        List<ObjectRef> page1 = new ArrayList<>();
        marks.offer(ref("a/b"), page1);
        marks.offer(ref("a/b-1"), page1);
        List<ObjectRef> page2 = new ArrayList<>();
        marks.offer(ref("a/b.txt"), page2);
        marks.offer(ref("a/b/c"), page2);
        List<ObjectRef> last = new ArrayList<>();
        marks.drain(last);

        assertThat(page1).isEmpty();
        assertThat(page2).extracting(ObjectRef::key, ObjectRef::folderOfOthers)
                .containsExactly(
                        tuple("a/b-1", false),
                        tuple("a/b.txt", false),
                        tuple("a/b", true));
        assertThat(last).extracting(ObjectRef::key).containsExactly("a/b/c");
    }

    @Test
    void keepsTheListedMetadataOfAMarkedKey() {
        List<ObjectRef> released = new ArrayList<>();
        ObjectLister.FolderMarks marks = new ObjectLister.FolderMarks();
        ObjectRef original = new ObjectRef("bkt", "a/b", "0123456789abcdef0123456789abcdef", 42, WHEN, false);
        marks.offer(original, released);
        marks.offer(ref("a/b/c"), released);
        marks.drain(released);

        assertThat(released).filteredOn(o -> o.key().equals("a/b")).singleElement()
                .isEqualTo(new ObjectRef("bkt", "a/b", "0123456789abcdef0123456789abcdef", 42, WHEN, true));
    }

    @Test
    void givesTheSameMarksWhateverThePageSize() {
        List<String> listing = new ArrayList<>(List.of("a", "a b", "a!/x", "a-1", "a.txt", "a/b", "a/b-1", "a/b.txt",
                "a/b/c", "a/b/c.d", "a/b/c/d", "a/b0", "a0", "a0/x", "b", "é", "é/x"));
        listing.sort(FolderMarksTest::utf8Order);
        Map<String, Boolean> whole = run(listing);

        for (int pageSize = 1; pageSize <= listing.size(); pageSize++) {
            assertThat(runInPages(listing, pageSize)).as("page size %d", pageSize).isEqualTo(whole);
        }
        assertThat(whole).containsEntry("a", true).containsEntry("a/b", true).containsEntry("a/b/c", true)
                .containsEntry("a0", true).containsEntry("é", true).containsEntry("a b", false)
                .containsEntry("a!/x", false).containsEntry("a/b0", false);
    }

    private static Map<String, Boolean> run(List<String> keys) {
        return runInPages(keys, Integer.MAX_VALUE);
    }

    private static Map<String, Boolean> runInPages(List<String> keys, int pageSize) {
        ObjectLister.FolderMarks marks = new ObjectLister.FolderMarks();
        Map<String, Boolean> result = new LinkedHashMap<>();
        List<ObjectRef> page = new ArrayList<>();
        for (int i = 0; i < keys.size(); i++) {
            marks.offer(ref(keys.get(i)), page);
            if ((i + 1) % pageSize == 0) {
                collect(page, result);
                page = new ArrayList<>();
            }
        }
        marks.drain(page);
        collect(page, result);
        return result;
    }

    private static void collect(List<ObjectRef> released, Map<String, Boolean> into) {
        for (ObjectRef o : released) {
            assertThat(into.put(o.key(), o.folderOfOthers())).as("released twice: %s", o.key()).isNull();
        }
    }

    private static ObjectRef ref(String key) {
        return new ObjectRef("bkt", key, "etag-" + key, 1, WHEN, false);
    }

    private static int utf8Order(String a, String b) {
        return Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }
}
