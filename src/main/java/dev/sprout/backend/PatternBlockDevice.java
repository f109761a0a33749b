package dev.sprout.backend;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockException;
import dev.sprout.block.ByteSize;
import dev.sprout.block.Capabilities;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.Extent;
import dev.sprout.block.RequestException;
import dev.sprout.block.ZeroFlags;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * A read-only device whose content names its own offsets: the big-endian 8-byte word at every
 * offset {@code o} divisible by 8 holds {@code o}. Good for spotting misplaced reads.
 */
public final class PatternBlockDevice implements BlockDevice {

    private static final ValueLayout.OfLong WORD =
            ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    /** The device size in bytes. */
    private final long size;
    /** Set by {@link #close}; every later operation fails. */
    private volatile boolean closed;

    /** A device of {@code size} bytes (1 to 2^63-1). */
    public PatternBlockDevice(long size) {
        if (size <= 0) {
            throw new IllegalArgumentException("pattern device size must be positive, not " + size);
        }
        this.size = size;
    }

    /** The byte at {@code offset}: byte {@code offset % 8} of the big-endian long {@code offset - offset % 8}. */
    static byte byteAt(long offset) {
        return (byte) ((offset & ~7L) >>> (56 - 8 * (offset & 7)));
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public Capabilities capabilities() {
        return Capabilities.full().readOnly();
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
    public void write(long offset, ByteBuffer src, boolean fua) throws BlockException {
        ensureOpen();
        throw RequestException.readOnly("write", this);
    }

    @Override
    public void flush() throws DeviceException {
        ensureOpen();
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws BlockException {
        ensureOpen();
        throw RequestException.readOnly("trim", this);
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws BlockException {
        ensureOpen();
        throw RequestException.readOnly("zero", this);
    }

    @Override
    public void cache(long offset, long length) throws DeviceException {
        ensureOpen();
    }

    @Override
    public List<Extent> extents(long offset, long length) throws DeviceException {
        ensureOpen();
        return List.of(Extent.data(offset, length));
    }

    @Override
    public void close() {
        closed = true;
    }

    @Override
    public String toString() {
        return "Pattern(" + ByteSize.format(size) + ")";
    }

    private void ensureOpen() throws DeviceException {
        if (closed) {
            throw new DeviceException(Errno.ESHUTDOWN, this + " is closed");
        }
    }
}
