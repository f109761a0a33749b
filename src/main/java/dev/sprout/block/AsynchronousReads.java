package dev.sprout.block;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * A device that can start a read and finish it later on a thread of its own, as an NBD
 * connection's reader finishes every reply. A caller keeps many reads in flight without a thread
 * waiting for each, and does its work on the bytes where they arrive, without a hand-off.
 */
public interface AsynchronousReads {

    /** What runs once a read is done. */
    @FunctionalInterface
    interface Completion {
        /**
         * Called once, with null when the bytes are in, or with why they are not. It runs on the
         * device's own thread (or on the caller's, when the read fails before it is sent), so it
         * must not wait for this device's replies and must not throw. It may start further reads:
         * {@link #readLater} never waits for a free request.
         */
        void done(IOException failure);
    }

    /**
     * Starts reading {@code dst.remaining()} bytes at {@code offset} into {@code dst}, from its
     * position to its limit (which stay where they are), and returns without waiting for them,
     * nor for a free request when the device has as many in flight as it takes: the read then
     * goes out once one is free. So a completion, on the thread that frees them, may call it.
     */
    void readLater(long offset, ByteBuffer dst, Completion then);
}
