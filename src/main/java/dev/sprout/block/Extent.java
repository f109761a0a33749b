package dev.sprout.block;

/**
 * A run of bytes with one allocation status, as NBD's {@code base:allocation} context reports it.
 *
 * @param offset where the run starts
 * @param length how many bytes it covers, always positive
 * @param hole   the bytes are not allocated (reads may still return data from a lower layer)
 * @param zero   the bytes read as zeroes
 */
public record Extent(long offset, long length, boolean hole, boolean zero) {

    public Extent {
        if (offset < 0 || length <= 0) {
            throw new IllegalArgumentException("bad extent " + offset + "+" + length);
        }
    }

    public static Extent data(long offset, long length) {
        return new Extent(offset, length, false, false);
    }

    /** Unallocated and reading as zeroes: the common sparse hole. */
    public static Extent unallocated(long offset, long length) {
        return new Extent(offset, length, true, true);
    }

    /** Allocated but known to read as zeroes. */
    public static Extent zeroes(long offset, long length) {
        return new Extent(offset, length, false, true);
    }

    public long end() {
        return offset + length;
    }

    /** The same status over a different range. */
    public Extent withRange(long newOffset, long newLength) {
        return new Extent(newOffset, newLength, hole, zero);
    }

    /** Whether {@code next} continues this run with the same status. */
    public boolean joinsWith(Extent next) {
        return next.offset == end() && next.hole == hole && next.zero == zero;
    }
}
