package dev.r2relay.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.r2relay.config.SettingsException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class HttpSettingsTest {

    private static HttpSettings read(Map<String, String> props, Map<String, String> env, boolean required) {
        Set<String> headerKeys = new java.util.TreeSet<>();
        props.keySet().stream().filter(k -> k.startsWith(HttpSettings.HEADERS_PREFIX)).forEach(headerKeys::add);
        return HttpSettings.from(k -> Optional.ofNullable(props.get(k)), headerKeys, env,
                required ? "relay.target=http" : null);
    }

    private static Map<String, String> url(String url) {
        Map<String, String> m = new HashMap<>();
        m.put("relay.http.url", url);
        return m;
    }

    @Test
    void hasDefaults() {
        HttpSettings s = read(url("https://in.example/{key}"), Map.of(), true);
        assertThat(s.method()).isEqualTo(HttpSettings.Method.POST);
        assertThat(s.maxAttempts()).isEqualTo(5);
        assertThat(s.backoff()).isEqualTo(Duration.ofSeconds(1));
        assertThat(s.maxDelay()).isEqualTo(Duration.ofSeconds(60));
        assertThat(s.connectTimeout()).isEqualTo(Duration.ofSeconds(10));
        assertThat(s.timeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(s.headers()).isEmpty();
    }

    @Test
    void needsAUrlOnlyWhenTheTargetIsHttp() {
        assertThat(read(Map.of(), Map.of(), false).url()).isNull();
        assertThatThrownBy(() -> read(Map.of(), Map.of(), true)).isInstanceOf(SettingsException.class)
                .hasMessageContaining("relay.http.url (RELAY_HTTP_URL)");
    }

    @Test
    void refusesBadUrlsAndMethods() {
        assertThatThrownBy(() -> read(url("ftp://h/{key}"), Map.of(), true)).hasMessageContaining("http://");
        assertThatThrownBy(() -> read(url("https://u:p@h/{key}"), Map.of(), true))
                .hasMessageContaining("must not carry credentials").hasMessageNotContaining("u:p");
        assertThatThrownBy(() -> read(url("https://h/x?k={key}"), Map.of(), true)).hasMessageContaining("path");
        assertThatThrownBy(() -> read(url("https://h/{id}"), Map.of(), true)).hasMessageContaining("not a valid URL");
        Map<String, String> m = url("https://h/{key}");
        m.put("relay.http.method", "patch");
        assertThatThrownBy(() -> read(m, Map.of(), true)).hasMessageContaining("POST or PUT");
        m.put("relay.http.method", "put");
        assertThat(read(m, Map.of(), true).method()).isEqualTo(HttpSettings.Method.PUT);
        m.put("relay.http.max-attempts", "0");
        assertThatThrownBy(() -> read(m, Map.of(), true)).hasMessageContaining("RELAY_HTTP_MAX_ATTEMPTS");
    }

    @Test
    void takesHeadersFromPropertiesAndEnvironmentAndNeverShowsValues() {
        Map<String, String> m = url("https://h/{key}");
        m.put("relay.http.headers.Authorization", "Bearer from-properties");
        m.put("relay.http.headers.X-Tenant", "t1");
        HttpSettings s = read(m, Map.of("RELAY_HTTP_HEADERS_AUTHORIZATION", "Bearer from-env",
                "RELAY_HTTP_HEADERS_X_API_KEY", "k-123", "OTHER", "x"), true);
        assertThat(s.headers()).containsOnlyKeys("Authorization", "X-Tenant", "X-Api-Key");
        assertThat(s.headers().get("authorization")).isEqualTo("Bearer from-env");
        assertThat(s.toString()).contains("Authorization", "X-Api-Key").doesNotContain("from-env", "k-123", "t1");
    }

    @Test
    void refusesHeadersItOwnsOrCannotSend() {
        for (String name : new String[] {"Content-Length", "content-type", "Host", "R2RelayKey", "Transfer-Encoding"}) {
            Map<String, String> m = url("https://h/{key}");
            m.put("relay.http.headers." + name, "v");
            assertThatThrownBy(() -> read(m, Map.of(), true)).as(name).hasMessageContaining("sets");
        }
        Map<String, String> m = url("https://h/{key}");
        m.put("relay.http.headers.X-Secret", "line1\r\nInjected: yes");
        assertThatThrownBy(() -> read(m, Map.of(), true)).hasMessageContaining("printable ASCII")
                .hasMessageNotContaining("line1");
    }
}
