package dev.sprout.tool;

import java.nio.ByteBuffer;

/** Whether a buffer holds only zero bytes, a long at a time. */
final class ZeroDetector {

    private ZeroDetector() {
    }

    /** Whether bytes {@code from} to {@code to} of {@code buffer} (absolute indices) are all zero. */
    static boolean isZero(ByteBuffer buffer, int from, int to) {
        int i = from;
        for (; i + 8 <= to; i += 8) {
            if (buffer.getLong(i) != 0) {
                return false;
            }
        }
        for (; i < to; i++) {
            if (buffer.get(i) != 0) {
                return false;
            }
        }
        return true;
    }
}
