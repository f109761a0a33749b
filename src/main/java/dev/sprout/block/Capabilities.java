package dev.sprout.block;

/**
 * What a device can do. The server derives the NBD transmission flags from it, so every flag a
 * client sees is a promise the whole stack keeps.
 *
 * @param writable  writes, trims and zeroes are accepted
 * @param flush     flush has an effect (the device caches writes)
 * @param fua       forced unit access is honoured per write
 * @param trim      trim frees space (otherwise it is accepted and ignored)
 * @param zero      zeroing is cheaper than writing a buffer of zeroes
 * @param fastZero  zeroing can be promised fast or refused at once
 * @param cache     cache (prefetch) has an effect
 * @param multiConn a flush on one connection covers writes completed on every connection
 * @param extents   extents report real allocation (otherwise all data)
 * @param blockSizes the I/O size constraints
 */
public record Capabilities(boolean writable, boolean flush, boolean fua, boolean trim, boolean zero,
                           boolean fastZero, boolean cache, boolean multiConn, boolean extents,
                           BlockSizes blockSizes) {

    /** Everything a well-behaved in-process device offers. */
    public static Capabilities full() {
        return new Capabilities(true, true, true, true, true, true, true, true, true, BlockSizes.DEFAULT);
    }

    /** The same capabilities with every write-side ability removed. */
    public Capabilities readOnly() {
        return new Capabilities(false, flush, fua, false, false, false, cache, multiConn, extents, blockSizes);
    }
}
