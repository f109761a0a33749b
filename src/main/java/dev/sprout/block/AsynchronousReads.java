package dev.sprout.block;

import java.nio.ByteBuffer;

/**
 * A device that can start a read and finish it later on a thread of its own, as an NBD
 * connection's reader finishes every reply. A caller keeps many reads in flight without a thread
 * waiting for each, and does its work on the bytes where they arrive, without a hand-off.
 */
public interface AsynchronousReads {

    /**
     * Starts reading {@code dst.remaining()} bytes at {@code offset} into {@code dst}, from its
     * position to its limit (which stay where they are), and returns without waiting for them,
     * nor for a free request when the device has as many in flight as it takes: the read then
     * goes out once one is free. So a completion, on the thread that frees them, may call it.
     */
    void readLater(long offset, ByteBuffer dst, Completion then);
}
