package dev.sprout.tool;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.OptionalLong;

/**
 * Finds the first byte where two devices differ, holes and zeroes counting as equal, and bytes
 * past the end of the shorter one as zeroes. Ranges both sides report as zero are not read.
 */
public final class Compare {

    private Compare() {
    }

    /** The offset of the first differing byte, or empty when the contents are the same. */
    public static OptionalLong firstDifference(BlockDevice a, BlockDevice b) throws IOException {
        long size = Math.max(a.size(), b.size());
        long at = 0;
        while (at < size) {
            Extent ea = extentAt(a, at, size);
            Extent eb = extentAt(b, at, size);
            long end = Math.min(ea.end(), eb.end());
            if (!(ea.zero() && eb.zero())) {
                OptionalLong difference = compareRange(a, ea.zero(), b, eb.zero(), at, end);
                if (difference.isPresent()) {
                    return difference;
                }
            }
            at = end;
        }
        return OptionalLong.empty();
    }

    /** The extent at {@code at}; past the device's end, one zero extent up to {@code size}. */
    private static Extent extentAt(BlockDevice device, long at, long size) throws IOException {
        if (at >= device.size()) {
            return Extent.unallocated(at, size - at);
        }
        return device.extents(at, device.size() - at).getFirst();
    }

    private static OptionalLong compareRange(BlockDevice a, boolean aZero, BlockDevice b, boolean bZero,
                                             long from, long to) throws IOException {
        int n;
        for (long at = from; at < to; at += n) {
            n = (int) Math.min(Copy.CHUNK, to - at);
            ByteBuffer x = read(a, aZero, at, n);
            ByteBuffer y = read(b, bZero, at, n);
            int mismatch = x.mismatch(y);
            if (mismatch >= 0) {
                return OptionalLong.of(at + mismatch);
            }
        }
        return OptionalLong.empty();
    }

    private static ByteBuffer read(BlockDevice device, boolean zero, long at, int n) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(n);
        if (!zero) {
            device.read(at, buffer);
        }
        return buffer.clear();
    }
}
