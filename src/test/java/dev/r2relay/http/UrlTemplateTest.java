package dev.r2relay.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class UrlTemplateTest {

    @Test
    void encodesEachSegmentAndKeepsSlashes() {
        assertThat(UrlTemplate.encodePath("a/b c/d+e%f.txt")).isEqualTo("a/b%20c/d%2Be%25f.txt");
        assertThat(UrlTemplate.encodePath("Ünï/✓")).isEqualTo("%C3%9Cn%C3%AF/%E2%9C%93");
        assertThat(UrlTemplate.encodePath("q?x#y&z=1;w")).isEqualTo("q%3Fx%23y%26z%3D1%3Bw");
        assertThat(UrlTemplate.encodePath("keep-._~AZaz09")).isEqualTo("keep-._~AZaz09");
    }

    @Test
    void keepsEmptySegmentsAndDefusesDotSegments() {
        assertThat(UrlTemplate.encodePath("a//b/")).isEqualTo("a//b/");
        assertThat(UrlTemplate.encodePath("/lead")).isEqualTo("/lead");
        assertThat(UrlTemplate.encodePath("../x/./y/..z")).isEqualTo("%2E%2E/x/%2E/y/..z");
    }

    @Test
    void placesTheKeyInTheTemplate() {
        assertThat(UrlTemplate.expand("https://h.example/in/{key}?v=1", "a b/c").toString())
                .isEqualTo("https://h.example/in/a%20b/c?v=1");
        assertThat(UrlTemplate.expand("https://h.example/in", "a b").toString()).isEqualTo("https://h.example/in");
        assertThat(UrlTemplate.expand("https://h.example/in/{key}", "../../etc").getPath())
                .isEqualTo("/in/../../etc");
        assertThat(UrlTemplate.expand("https://h.example/in/{key}", "../../etc").normalize().getRawPath())
                .isEqualTo("/in/%2E%2E/%2E%2E/etc");
    }
}
