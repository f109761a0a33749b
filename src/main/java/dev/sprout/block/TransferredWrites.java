package dev.sprout.block;

import java.io.IOException;
import java.nio.channels.WritableByteChannel;

/**
 * A device whose writes can take their bytes straight from where they lie: it hands its own
 * channel (an NBD connection's socket) to a {@link Source}, which moves the bytes into it without
 * a copy through the JVM's memory (a file's {@code FileChannel.transferTo}, that is sendfile(2),
 * which on Linux passes page-cache pages into a socket by reference). Like {@link
 * AsynchronousReads}, a way of reaching a device at the edge of a stack, for a copy; layers never
 * offer it, since they must see every byte written.
 */
public interface TransferredWrites {

    /** Where a transferred write's bytes come from. */
    @FunctionalInterface
    interface Source {
        /**
         * Writes exactly {@code count} bytes, those destined for device offset {@code offset},
         * into {@code channel}, or throws. A device may ask for a write's bytes in several
         * pieces, in order.
         */
        void transferTo(long offset, long count, WritableByteChannel channel) throws IOException;
    }

    /**
     * Whether a write is cheaper transferred than from memory on this device; a caller that has
     * the bytes in memory anyway writes them from there.
     */
    boolean prefersTransfers();

    /** Writes {@code length} bytes at {@code offset}, taken from {@code source}; durable before returning with {@code fua}. */
    void writeFrom(long offset, long length, Source source, boolean fua) throws IOException;
}
