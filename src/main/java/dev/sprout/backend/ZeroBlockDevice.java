package dev.sprout.backend;

import dev.sprout.block.DeviceException;
import dev.sprout.block.Extent;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;

/** A read-only device of zeroes, unallocated throughout; every modification fails with EPERM. */
public final class ZeroBlockDevice extends ComputedBlockDevice {

    /** A device of {@code size} bytes (1 to 2^63-1). */
    public ZeroBlockDevice(long size) {
        super("Zero", size);
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws DeviceException {
        ensureOpen();
        MemorySegment.ofBuffer(dst).fill((byte) 0);
        dst.position(dst.limit());
    }

    @Override
    public List<Extent> extents(long offset, long length) throws DeviceException {
        ensureOpen();
        return List.of(Extent.unallocated(offset, length));
    }
}
