package dev.sprout.tool;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.block.PageAlignedBuffer;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
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
        ByteBuffer x = PageAlignedBuffer.allocate(Copy.CHUNK);
        ByteBuffer y = PageAlignedBuffer.allocate(Copy.CHUNK);
        long at = 0;
        while (at < size) {
            Extent ea = extentAt(a, at, size);
            Extent eb = extentAt(b, at, size);
            long end = Math.min(ea.end(), eb.end());
            if (!(ea.zero() && eb.zero())) {
                OptionalLong difference = compareRange(a, ea.zero(), x, b, eb.zero(), y, at, end);
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

    /** Compares the range a chunk at a time, reading each side into its buffer (zeroes where it says zero). */
    private static OptionalLong compareRange(BlockDevice a, boolean aZero, ByteBuffer x, BlockDevice b, boolean bZero,
                                             ByteBuffer y, long from, long to) throws IOException {
        int n;
        for (long at = from; at < to; at += n) {
            n = (int) Math.min(Copy.CHUNK, to - at);
            int mismatch = read(a, aZero, at, x.clear().limit(n)).mismatch(read(b, bZero, at, y.clear().limit(n)));
            if (mismatch >= 0) {
                return OptionalLong.of(at + mismatch);
            }
        }
        return OptionalLong.empty();
    }

    /** {@code buffer}, position to limit, filled from {@code at}, or with zeroes where the device reads as zeroes. */
    private static ByteBuffer read(BlockDevice device, boolean zero, long at, ByteBuffer buffer) throws IOException {
        if (zero) {
            MemorySegment.ofBuffer(buffer).fill((byte) 0);
        } else {
            device.read(at, buffer.duplicate());
        }
        return buffer;
    }
}
