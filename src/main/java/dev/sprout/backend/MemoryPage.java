package dev.sprout.backend;

import dev.sprout.os.NativeMemory;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One allocated page of a {@link MemoryBlockDevice}, held outside the Java heap: changed only under
 * its own monitor, read without it. A reader pins the page while it copies, and the page's memory
 * is freed only once it is detached and unpinned, so a read never touches freed memory.
 */
final class MemoryPage {

    private static final MemorySegment ZEROES = MemorySegment.ofArray(new byte[MemoryBlockDevice.PAGE_SIZE]);

    /** The page's bytes. */
    private final MemorySegment data = NativeMemory.allocateZeroed(MemoryBlockDevice.PAGE_SIZE);
    /** Removed from its device's map: writers retry on a fresh page, readers see zeroes. */
    private volatile boolean detached;
    /** Readers copying from {@link #data} right now. */
    private final AtomicInteger pins = new AtomicInteger();
    /** Bumped after every change, so a lock-free reader sees the changes completed before its read. */
    private volatile int version;

    /**
     * Copies {@code length} bytes from {@code inPage} into {@code dst}; needs no lock. A page
     * detached meanwhile held only zeroes (or was trimmed): the reader gets zeroes.
     */
    void copyTo(int inPage, MemorySegment dst, long dstOffset, long length) {
        pins.incrementAndGet();
        try {
            if (detached) {
                dst.asSlice(dstOffset, length).fill((byte) 0);
                return;
            }
            int published = version; // this volatile read acquires every change completed before it
            MemorySegment.copy(data, inPage, dst, dstOffset, length);
        } finally {
            pins.decrementAndGet();
        }
    }

    /** Whether the page was removed; the caller holds the lock. */
    boolean detached() {
        return detached;
    }

    /** Copies {@code length} bytes of {@code src} to {@code inPage}; the caller holds the lock. */
    void copyFrom(MemorySegment src, long srcOffset, int inPage, int length) {
        MemorySegment.copy(src, srcOffset, data, inPage, length);
        version++;
    }

    /** Zeroes {@code [from, to)}; the caller holds the lock. */
    void fill(int from, int to) {
        data.asSlice(from, to - from).fill((byte) 0);
        version++;
    }

    /** Whether every byte is zero, compared vectorised; the caller holds the lock. */
    boolean isZero() {
        return MemorySegment.mismatch(data, 0, data.byteSize(), ZEROES, 0, ZEROES.byteSize()) < 0;
    }

    /**
     * Marks the page removed and frees its memory once no reader holds it; the caller holds the
     * lock and has taken the page out of the map. (detached is set before pins are read, and a
     * reader pins before it reads detached: one of the two always sees the other.)
     */
    void detachAndFree() {
        detached = true;
        while (pins.get() > 0) {
            Thread.onSpinWait();
        }
        NativeMemory.free(data);
    }
}
