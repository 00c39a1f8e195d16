package dev.r2relay.http;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ContentCodingTest {

    @Test
    void passesTheStoredContentCodingButNotTheUploadSigningOne() {
        assertThat(HttpTarget.contentCoding(null)).isNull();
        assertThat(HttpTarget.contentCoding("aws-chunked")).isNull();
        assertThat(HttpTarget.contentCoding("gzip")).isEqualTo("gzip");
        assertThat(HttpTarget.contentCoding("gzip,aws-chunked")).isEqualTo("gzip");
        assertThat(HttpTarget.contentCoding("aws-chunked, br")).isEqualTo("br");
    }
}
