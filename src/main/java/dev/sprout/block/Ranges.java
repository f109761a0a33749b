package dev.sprout.block;

/** Bounds checks for byte ranges on a device, overflow-safe up to a 2^63-1 byte size. */
public final class Ranges {

    private Ranges() {
    }

    /** Whether {@code [offset, offset+length)} lies inside {@code [0, size)}, with length > 0. */
    public static boolean fits(long offset, long length, long size) {
        return offset >= 0 && length > 0 && offset <= size && length <= size - offset;
    }

    /** Throws {@code errno} unless the range fits in a device of {@code size} bytes. */
    public static void check(long offset, long length, long size, Errno errno) throws RequestException {
        if (!fits(offset, length, size)) {
            throw RequestException.outOfRange(errno, offset, length, size);
        }
    }
}
