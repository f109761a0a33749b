package dev.sprout.nbd;

import java.nio.charset.StandardCharsets;

/** UTF-8 encoding with a byte limit that never splits a character (proto.md: "Strings"). */
final class Utf8 {

    private Utf8() {
    }

    /** The UTF-8 bytes of {@code text}, cut after the last whole character that fits in {@code max}. */
    static byte[] truncate(String text, int max) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        if (bytes.length <= max) {
            return bytes;
        }
        int end = max;
        // Back up over continuation bytes (10xxxxxx) to the start of the character that did not fit.
        while (end > 0 && (bytes[end] & 0xC0) == 0x80) {
            end--;
        }
        return java.util.Arrays.copyOf(bytes, end);
    }
}
