package dev.sprout.backend;

import dev.sprout.os.NativeMemory;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One allocated page of a {@link MemoryBlockDevice}, held outside the Java heap: changed only under
 * its own monitor, read without it. A reader pins the page while it copies, and the page's memory
 * is freed only once it is retired and unpinned, so a read never touches freed memory.
 *
 * <p>A page is retired in one of two ways: detached, when its range went back to zeroes (a reader
 * then gets zeroes), or replaced, when a whole new page took its place in the map (a reader then
 * looks the page up again).
 */
final class MemoryPage {

    private static final MemorySegment ZEROES = MemorySegment.ofArray(new byte[MemoryBlockDevice.PAGE_SIZE]);

    /** The page's bytes. */
    private final MemorySegment data;
    /** Removed from its device's map: writers retry on a fresh page, readers see zeroes. */
    private volatile boolean detached;
    /** Superseded in its device's map by another page: writers and readers retry on that one. */
    private volatile boolean replaced;
    /** Readers copying from {@link #data} right now. */
    private final AtomicInteger pins = new AtomicInteger();
    /** Bumped after every change, so a lock-free reader sees the changes completed before its read. */
    private volatile int version;

    private MemoryPage(MemorySegment data) {
        this.data = data;
    }

    /** A page of zeroes. */
    static MemoryPage zeroed() {
        return new MemoryPage(NativeMemory.allocateZeroed(MemoryBlockDevice.PAGE_SIZE));
    }

    /**
     * A page of undefined bytes over {@code memory} (a page's worth from {@link #retire} or
     * {@link NativeMemory#allocate}), to be filled through {@link #buffer} before anyone else sees it.
     */
    static MemoryPage unfilled(MemorySegment memory) {
        return new MemoryPage(memory);
    }

    /** The whole page as a buffer, for filling a page no other thread can see yet. */
    ByteBuffer buffer() {
        return data.asByteBuffer();
    }

    /**
     * Copies {@code length} bytes from {@code inPage} into {@code dst} and returns true; needs no
     * lock. A page detached meanwhile held only zeroes (or was trimmed): the reader gets zeroes.
     * A page replaced meanwhile copies nothing and returns false: the caller looks again.
     */
    boolean copyTo(int inPage, MemorySegment dst, long dstOffset, long length) {
        pins.incrementAndGet();
        try {
            if (replaced) {
                return false;
            }
            if (detached) {
                dst.asSlice(dstOffset, length).fill((byte) 0);
                return true;
            }
            int published = version; // this volatile read acquires every change completed before it
            MemorySegment.copy(data, inPage, dst, dstOffset, length);
            return true;
        } finally {
            pins.decrementAndGet();
        }
    }

    /** Whether the page was retired, and a writer must look again; the caller holds the lock. */
    boolean retired() {
        return detached || replaced;
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

    /** Whether every byte is zero, compared vectorised; the caller holds the lock or owns the page. */
    boolean isZero() {
        return MemorySegment.mismatch(data, 0, data.byteSize(), ZEROES, 0, ZEROES.byteSize()) < 0;
    }

    /**
     * Marks the page removed and frees its memory once no reader holds it; the caller holds the
     * lock and has taken the page out of the map. (The mark is set before pins are read, and a
     * reader pins before it reads the mark: one of the two always sees the other.)
     */
    void detachAndFree() {
        detached = true;
        awaitUnpinned();
        NativeMemory.free(data);
    }

    /**
     * Marks the page replaced and, once no reader holds it, returns its memory for another page;
     * the caller holds the lock and has put the other page in the map.
     */
    MemorySegment replace() {
        replaced = true;
        awaitUnpinned();
        return data;
    }

    /** The memory of a page that was never in the map, for another page. */
    MemorySegment retire() {
        return data;
    }

    private void awaitUnpinned() {
        while (pins.get() > 0) {
            Thread.onSpinWait();
        }
    }
}
