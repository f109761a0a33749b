package dev.sprout.block;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/** Whether a buffer holds only zero bytes, compared vectorised against a block of zeroes. */
public final class ZeroDetector {

    private static final int BLOCK = 64 * 1024;
    private static final MemorySegment ZEROES = MemorySegment.ofArray(new byte[BLOCK]);

    private ZeroDetector() {
    }

    /** Whether bytes {@code from} to {@code to} of {@code buffer} (absolute indices) are all zero. */
    public static boolean isZero(ByteBuffer buffer, int from, int to) {
        MemorySegment bytes = MemorySegment.ofBuffer(buffer.duplicate().clear());
        for (int at = from; at < to; at += BLOCK) {
            int n = Math.min(BLOCK, to - at);
            if (MemorySegment.mismatch(bytes, at, at + n, ZEROES, 0, n) >= 0) {
                return false;
            }
        }
        return true;
    }
}
