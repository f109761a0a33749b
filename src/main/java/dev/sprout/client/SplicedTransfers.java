package dev.sprout.client;

import dev.sprout.block.Completion;
import dev.sprout.os.KernelPipe;

/**
 * An NBD export whose READ and WRITE payloads can pass through a {@link KernelPipe}, spliced
 * out of one socket and into another without entering the JVM: for a copy between two exports
 * ({@link SplicedChunk} says how a chunk is read, told apart into data and zeroes, and written).
 */
public interface SplicedTransfers {

    /**
     * Whether payloads can be spliced: native calls work, and the JDK lets sprout know the
     * sockets' descriptors ({@link dev.sprout.os.SocketDescriptor}). Asking makes the sockets
     * non-blocking.
     */
    boolean canSplice();

    /**
     * Sends the READ of {@code chunk}'s range, which must not be larger than one request may be,
     * and returns; its payload goes into the chunk on the connection's reader thread, which then
     * runs {@code then}.
     */
    void readSpliced(SplicedChunk chunk, Completion then);

    /**
     * Sends WRITEs of {@code length} bytes at {@code offset}, taken from the front of {@code pipe},
     * from the calling thread: it waits for free requests where all are in flight, so that the
     * pipe is emptied in order, and must not be a reader thread of this export. {@code then} runs
     * once all are answered.
     */
    void writeSpliced(long offset, int length, KernelPipe pipe, Completion then);
}
