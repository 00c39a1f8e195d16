package dev.r2relay.trigger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class TriggerParserTest {

    private final TriggerParser parser = new TriggerParser("media");

    @Test
    void readsABareKey() {
        assertThat(parser.parse("  2024/08/02/x.parquet \n"))
                .containsExactly(FetchRequest.create("media", "2024/08/02/x.parquet"));
    }

    @Test
    void readsJsonWithAndWithoutBucket() {
        assertThat(parser.parse("{\"key\":\"a b/c+d%.txt\"}")).extracting(FetchRequest::key).containsExactly("a b/c+d%.txt");
        assertThat(parser.parse("{\"bucket\":\"media\",\"key\":\"k\"}")).extracting(FetchRequest::bucket)
                .containsExactly("media");
    }

    @Test
    void readsAnArrayOfRequests() {
        assertThat(parser.parse("[{\"key\":\"a\"},{\"key\":\"b\"}]")).extracting(FetchRequest::key)
                .containsExactly("a", "b");
    }

    @Test
    void readsAnR2CreateEventNotification() {
        String event = """
                {"account":"3f4b7e3dcab231cbfdaa90a6a28bd548","action":"PutObject","bucket":"media",
                 "object":{"key":"photos/cat.png","size":1024,"eTag":"c8a6d4c2e1b4a0f3e5d7c9b1a2f3e4d5"},
                 "eventTime":"2024-05-24T19:36:44.379Z"}""";
        List<FetchRequest> requests = parser.parse(event);
        assertThat(requests).containsExactly(new FetchRequest("media", "photos/cat.png", FetchRequest.Action.CREATE,
                "c8a6d4c2e1b4a0f3e5d7c9b1a2f3e4d5", 1024L, Instant.parse("2024-05-24T19:36:44.379Z"), "PutObject"));
    }

    @Test
    void readsCopyAndMultipartAsCreatesAndDeletesAsDeletes() {
        for (String action : List.of("CopyObject", "CompleteMultipartUpload")) {
            assertThat(parser.parse(event(action)).get(0).action()).isEqualTo(FetchRequest.Action.CREATE);
        }
        for (String action : List.of("DeleteObject", "LifecycleDeletion")) {
            FetchRequest request = parser.parse("{\"account\":\"a\",\"action\":\"" + action
                    + "\",\"bucket\":\"media\",\"object\":{\"key\":\"gone.txt\"},\"eventTime\":\"2024-05-24T19:36:44Z\"}")
                    .get(0);
            assertThat(request.action()).isEqualTo(FetchRequest.Action.DELETE);
            assertThat(request.etag()).isNull();
            assertThat(request.size()).isNull();
        }
    }

    @Test
    void rejectsCorruptTriggersWithAMessageNamingTheProblem() {
        assertThatThrownBy(() -> parser.parse("")).isInstanceOf(InvalidTriggerException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> parser.parse("{\"key\": ")).isInstanceOf(InvalidTriggerException.class)
                .hasMessageContaining("not valid JSON").hasMessageContaining("line 1");
        assertThatThrownBy(() -> parser.parse("{\"name\":\"x\"}")).hasMessageContaining("no \"key\"");
        assertThatThrownBy(() -> parser.parse("{\"key\":42}")).hasMessageContaining("\"key\" must be a string");
        assertThatThrownBy(() -> parser.parse("{\"bucket\":\"other\",\"key\":\"x\"}"))
                .hasMessageContaining("'other'").hasMessageContaining("r2.bucket");
        assertThatThrownBy(() -> parser.parse(event("RenameObject"))).hasMessageContaining("unknown action 'RenameObject'");
        assertThatThrownBy(() -> parser.parse("{\"action\":\"PutObject\",\"bucket\":\"media\"}"))
                .hasMessageContaining("no \"object\"");
        assertThatThrownBy(() -> parser.parse("a\nb")).hasMessageContaining("one key on one line");
        assertThatThrownBy(() -> parser.parse("[]")).hasMessageContaining("empty JSON array");
        assertThatThrownBy(() -> parser.parse("x".repeat(1025))).hasMessageContaining("longer than 1024 bytes");
    }

    private static String event(String action) {
        return "{\"account\":\"a\",\"action\":\"" + action + "\",\"bucket\":\"media\","
                + "\"object\":{\"key\":\"k\",\"size\":1,\"eTag\":\"e\"},\"eventTime\":\"2024-05-24T19:36:44Z\"}";
    }
}
