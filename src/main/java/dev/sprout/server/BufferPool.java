package dev.sprout.server;

import dev.sprout.block.PageAlignedBuffer;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Direct buffers for request payloads and replies, reused across requests: allocating and
 * zeroing a fresh direct buffer per request costs more than the I/O it serves. Buffers come in
 * power-of-two classes; each class keeps a bounded number of idle buffers.
 */
final class BufferPool {

    private static final int MIN_SHIFT = 12;
    private static final int MAX_SHIFT = 26;
    /** Idle bytes kept per class, so that a burst of 32 MiB requests does not pin memory forever. */
    private static final long IDLE_BYTES_PER_CLASS = 64L << 20;

    private final ConcurrentLinkedQueue<ByteBuffer>[] idle;
    private final AtomicInteger[] idleCount;

    @SuppressWarnings("unchecked")
    BufferPool() {
        int classes = MAX_SHIFT - MIN_SHIFT + 1;
        idle = new ConcurrentLinkedQueue[classes];
        idleCount = new AtomicInteger[classes];
        for (int i = 0; i < classes; i++) {
            idle[i] = new ConcurrentLinkedQueue<>();
            idleCount[i] = new AtomicInteger();
        }
    }

    /** A cleared buffer with position 0 and limit {@code size}; its contents are arbitrary. */
    ByteBuffer take(int size) {
        int cls = sizeClass(size);
        if (cls < 0) {
            return PageAlignedBuffer.allocate(size);
        }
        ByteBuffer buffer = idle[cls].poll();
        if (buffer == null) {
            buffer = PageAlignedBuffer.allocate(1 << (cls + MIN_SHIFT));
        } else {
            idleCount[cls].decrementAndGet();
        }
        return buffer.clear().limit(size);
    }

    /** Returns a buffer from {@link #take}; the caller must not touch it afterwards. */
    void give(ByteBuffer buffer) {
        int capacity = buffer.capacity();
        if (Integer.bitCount(capacity) != 1) {
            return;
        }
        int cls = sizeClass(capacity);
        if (cls < 0 || (long) idleCount[cls].get() * capacity >= IDLE_BYTES_PER_CLASS) {
            return;
        }
        idleCount[cls].incrementAndGet();
        idle[cls].offer(buffer);
    }

    private static int sizeClass(int size) {
        int shift = Math.max(MIN_SHIFT, 32 - Integer.numberOfLeadingZeros(Math.max(size, 1) - 1));
        return shift > MAX_SHIFT ? -1 : shift - MIN_SHIFT;
    }
}
