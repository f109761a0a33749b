package dev.sprout.backend;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One allocated page of a {@link MemoryBlockDevice}: changed only under its own monitor, read
 * without it.
 */
final class MemoryPage {

    private static final byte[] ZEROES = new byte[MemoryBlockDevice.PAGE_SIZE];

    /** The page's bytes. */
    private final byte[] data = new byte[MemoryBlockDevice.PAGE_SIZE];
    /** Removed from its device's map: writers must retry on a fresh page. Guarded by this. */
    boolean detached;
    /** Bumped after every change, so a lock-free reader sees the changes completed before its read. */
    private volatile int version;

    /** Copies {@code length} bytes from {@code inPage} into {@code dst}; needs no lock. */
    void copyTo(int inPage, MemorySegment dst, long dstOffset, long length) {
        int published = version; // this volatile read acquires every change completed before it
        MemorySegment.copy(MemorySegment.ofArray(data), inPage, dst, dstOffset, length);
    }

    /** Copies {@code length} bytes of {@code src} to {@code inPage}; the caller holds the lock. */
    void copyFrom(MemorySegment src, long srcOffset, int inPage, int length) {
        MemorySegment.copy(src, srcOffset, MemorySegment.ofArray(data), inPage, length);
        version++;
    }

    /** Zeroes {@code [from, to)}; the caller holds the lock. */
    void fill(int from, int to) {
        Arrays.fill(data, from, to, (byte) 0);
        version++;
    }

    /** Whether every byte is zero, compared vectorised; the caller holds the lock. */
    boolean isZero() {
        return Arrays.mismatch(data, ZEROES) < 0;
    }
}
