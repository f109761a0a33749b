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
import java.nio.ByteBuffer;
import java.util.List;

/** A read-only device of zeroes, unallocated throughout; every modification fails with EPERM. */
public final class ZeroBlockDevice implements BlockDevice {

    /** The device size in bytes. */
    private final long size;
    /** Set by {@link #close}; every later operation fails. */
    private volatile boolean closed;

    /** A device of {@code size} bytes (1 to 2^63-1). */
    public ZeroBlockDevice(long size) {
        if (size <= 0) {
            throw new IllegalArgumentException("zero device size must be positive, not " + size);
        }
        this.size = size;
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
        MemorySegment.ofBuffer(dst).fill((byte) 0);
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
        return List.of(Extent.unallocated(offset, length));
    }

    @Override
    public void close() {
        closed = true;
    }

    @Override
    public String toString() {
        return "Zero(" + ByteSize.format(size) + ")";
    }

    private void ensureOpen() throws DeviceException {
        if (closed) {
            throw new DeviceException(Errno.ESHUTDOWN, this + " is closed");
        }
    }
}
