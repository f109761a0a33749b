package dev.sprout.block;

import java.math.BigInteger;
import java.util.Locale;

/**
 * Sizes as users write them: plain bytes or a number with a K, M, G, T, P or E suffix (powers of
 * 1024, an optional trailing "B" or "iB"). The largest is 2^63-1 bytes.
 */
public final class ByteSize {

    private static final String SUFFIXES = "KMGTPE";

    private ByteSize() {
    }

    /** Parses {@code text}, or throws {@link IllegalArgumentException} saying what is wrong. */
    public static long parse(String text) {
        String s = text.strip().toUpperCase(Locale.ROOT);
        if (s.endsWith("IB")) {
            s = s.substring(0, s.length() - 2);
        } else if (s.endsWith("B") && s.length() > 1) {
            s = s.substring(0, s.length() - 1);
        }
        int shift = 0;
        if (!s.isEmpty()) {
            int unit = SUFFIXES.indexOf(s.charAt(s.length() - 1));
            if (unit >= 0) {
                shift = 10 * (unit + 1);
                s = s.substring(0, s.length() - 1);
            }
        }
        if (s.isEmpty() || !s.chars().allMatch(Character::isDigit)) {
            throw new IllegalArgumentException(
                    "invalid size '" + text + "': expected bytes or a number with K, M, G, T, P or E");
        }
        BigInteger bytes = new BigInteger(s).shiftLeft(shift);
        if (bytes.bitLength() > 63) {
            throw new IllegalArgumentException(
                    "size '" + text + "' is too large: the largest is 2^63-1 (" + Long.MAX_VALUE + ") bytes");
        }
        return bytes.longValueExact();
    }

    /** A short human form: the largest unit that divides the size exactly, else bytes. */
    public static String format(long bytes) {
        for (int unit = SUFFIXES.length(); unit > 0; unit--) {
            long scale = 1L << (10 * unit);
            if (bytes >= scale && bytes % scale == 0) {
                return bytes / scale + String.valueOf(SUFFIXES.charAt(unit - 1));
            }
        }
        return Long.toString(bytes);
    }
}
