package dev.sprout.backend;

import dev.sprout.block.Capabilities;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Extent;
import dev.sprout.block.ZeroFlags;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;

/** A writable device that keeps nothing: writes vanish and every read returns zeroes. */
public final class NullBlockDevice extends ComputedBlockDevice {

    /** A device of {@code size} bytes (1 to 2^63-1). */
    public NullBlockDevice(long size) {
        super("Null", size);
    }

    @Override
    public Capabilities capabilities() {
        return Capabilities.full();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws DeviceException {
        ensureOpen();
        MemorySegment.ofBuffer(dst).fill((byte) 0);
        dst.position(dst.limit());
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws DeviceException {
        ensureOpen();
        src.position(src.limit());
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws DeviceException {
        ensureOpen();
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws DeviceException {
        ensureOpen();
    }

    @Override
    public List<Extent> extents(long offset, long length) throws DeviceException {
        ensureOpen();
        return List.of(Extent.unallocated(offset, length));
    }
}
