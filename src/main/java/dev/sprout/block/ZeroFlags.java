package dev.sprout.block;

/**
 * How a {@link BlockDevice#zero} request may be carried out.
 *
 * @param noHole the range must stay allocated: zero it, do not punch a hole (NBD NO_HOLE)
 * @param fast   fail with {@link Errno#ENOTSUP} unless zeroing is faster than writing (NBD FAST_ZERO)
 * @param fua    the zeroes are durable when the call returns (NBD FUA)
 */
public record ZeroFlags(boolean noHole, boolean fast, boolean fua) {

    /** Punching allowed, speed not required, no forced unit access. */
    public static final ZeroFlags PUNCH = new ZeroFlags(false, false, false);
}
