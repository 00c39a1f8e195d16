package dev.r2relay.http;

import java.net.URI;
import java.nio.charset.StandardCharsets;

/**
 * Puts an object key into the URL template: every key segment is percent-encoded as UTF-8 (only
 * RFC 3986 unreserved characters stay as they are) and '/' stays the separator. '.' and '..'
 * segments are encoded too, so no server normalises them into another path.
 */
public final class UrlTemplate {

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private UrlTemplate() {
    }

    /** The URL for {@code key}: the template with {@value HttpSettings#KEY_PLACEHOLDER} replaced. */
    public static URI expand(String template, String key) {
        return URI.create(template.replace(HttpSettings.KEY_PLACEHOLDER, encodePath(key)));
    }

    /** The key as a URL path: segments percent-encoded, '/' kept. Also the value of the key header. */
    public static String encodePath(String key) {
        StringBuilder b = new StringBuilder(key.length() + 16);
        String[] segments = key.split("/", -1);
        for (int i = 0; i < segments.length; i++) {
            if (i > 0) {
                b.append('/');
            }
            String segment = segments[i];
            if (segment.equals(".") || segment.equals("..")) {
                b.append("%2E".repeat(segment.length()));
            } else {
                encodeSegment(segment, b);
            }
        }
        return b.toString();
    }

    private static void encodeSegment(String segment, StringBuilder b) {
        for (byte octet : segment.getBytes(StandardCharsets.UTF_8)) {
            int c = octet & 0xff;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '-' || c == '.' || c == '_' || c == '~') {
                b.append((char) c);
            } else {
                b.append('%').append(HEX[c >> 4]).append(HEX[c & 0xf]);
            }
        }
    }
}
