package dev.sprout.block;

import java.nio.ByteBuffer;

/**
 * Buffers a device lends for one WRITE's payload (see {@link BlockDevice#leaseWrite}): the caller
 * fills them, in order, with exactly the write's bytes and then either commits them, handing them
 * to the device as its data, or releases them unused. Exactly one of the two, once.
 */
public interface WriteLease {

    /** Where the payload goes, in order; their remaining bytes add up to the write's length. */
    ByteBuffer[] buffers();

    /**
     * Makes the filled buffers the device's data at the write's offset, like {@link
     * BlockDevice#write} with {@code fua}; the buffers are the device's from then on.
     */
    void commit(boolean fua) throws BlockException;

    /** Gives the buffers back unused: the payload could not be read. */
    void release();
}
