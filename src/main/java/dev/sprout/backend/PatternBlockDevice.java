package dev.sprout.backend;

import dev.sprout.block.DeviceException;
import dev.sprout.block.Extent;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * A read-only device whose content names its own offsets: the big-endian 8-byte word at every
 * offset {@code o} divisible by 8 holds {@code o}. Good for spotting misplaced reads.
 */
public final class PatternBlockDevice extends ComputedBlockDevice {

    private static final ValueLayout.OfLong WORD =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /** A device of {@code size} bytes (1 to 2^63-1). */
    public PatternBlockDevice(long size) {
        super("Pattern", size);
    }

    /** The byte at {@code offset}: byte {@code offset % 8} of the big-endian long {@code offset - offset % 8}. */
    static byte byteAt(long offset) {
        return (byte) ((offset & ~7L) >>> (56 - 8 * (offset & 7)));
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws DeviceException {
        ensureOpen();
        MemorySegment out = MemorySegment.ofBuffer(dst);
        long length = out.byteSize();
        long i = 0;
        while (i < length) {
            long at = offset + i;
            if ((at & 7) == 0 && length - i >= Long.BYTES) {
                out.set(WORD, i, at);
                i += Long.BYTES;
            } else {
                out.set(ValueLayout.JAVA_BYTE, i, byteAt(at));
                i++;
            }
        }
        dst.position(dst.limit());
    }

    @Override
    public List<Extent> extents(long offset, long length) throws DeviceException {
        ensureOpen();
        return List.of(Extent.data(offset, length));
    }
}
