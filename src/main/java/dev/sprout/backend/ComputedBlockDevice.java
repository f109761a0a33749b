package dev.sprout.backend;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockException;
import dev.sprout.block.ByteSize;
import dev.sprout.block.Capabilities;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.RequestException;
import dev.sprout.block.ZeroFlags;

import java.nio.ByteBuffer;

/**
 * The shared part of devices whose content is computed rather than stored (null, zero,
 * pattern): a size, a name, nothing to flush or cache, failing with ESHUTDOWN once closed.
 * Unless a subclass says otherwise it is read-only, refusing modifications with EPERM.
 */
abstract sealed class ComputedBlockDevice implements BlockDevice
        permits NullBlockDevice, ZeroBlockDevice, PatternBlockDevice {

    /** The device size in bytes. */
    private final long size;
    /** The name in {@code toString()}, e.g. "Zero". */
    private final String name;
    /** Set by {@link #close}; every later operation fails. */
    private volatile boolean closed;

    ComputedBlockDevice(String name, long size) {
        if (size <= 0) {
            throw new IllegalArgumentException(name.toLowerCase(java.util.Locale.ROOT)
                    + " device size must be positive, not " + size);
        }
        this.name = name;
        this.size = size;
    }

    @Override
    public final long size() {
        return size;
    }

    @Override
    public Capabilities capabilities() {
        return Capabilities.full().readOnly();
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws BlockException {
        ensureOpen();
        throw RequestException.readOnly("write", this);
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
    public final void flush() throws DeviceException {
        ensureOpen();
    }

    @Override
    public final void cache(long offset, long length) throws DeviceException {
        ensureOpen();
    }

    @Override
    public final void close() {
        closed = true;
    }

    /** Computing bytes never waits. */
    @Override
    public final boolean nonBlocking() {
        return true;
    }

    @Override
    public final String toString() {
        return name + "(" + ByteSize.format(size) + ")";
    }

    final void ensureOpen() throws DeviceException {
        if (closed) {
            throw new DeviceException(Errno.ESHUTDOWN, this + " is closed");
        }
    }
}
