package dev.sprout.block;

import java.nio.ByteBuffer;

/**
 * The writing side of {@link AsynchronousReads}: a write or a zeroing started now and finished
 * later on the device's own thread. A copy between two such devices keeps its requests in flight
 * without a thread waiting for any of them: a read's completion starts the write of its bytes,
 * and the write's completion the next read.
 */
public interface AsynchronousWrites {

    /**
     * Starts writing {@code src}'s remaining bytes at {@code offset} (without FUA) and returns
     * without waiting, nor for a free request. {@code src} must stay as it is until {@code then}
     * runs; its position and limit do not move.
     */
    void writeLater(long offset, ByteBuffer src, Completion then);

    /**
     * Starts zeroing {@code length} bytes at {@code offset} as {@link BlockDevice#zero} with
     * {@link ZeroFlags#PUNCH} does, and returns without waiting.
     */
    void zeroLater(long offset, long length, Completion then);
}
