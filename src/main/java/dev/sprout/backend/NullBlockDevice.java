package dev.sprout.backend;

import dev.sprout.block.Capabilities;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Extent;
import dev.sprout.block.WriteLease;
import dev.sprout.block.ZeroFlags;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;

/** A writable device that keeps nothing: writes vanish and every read returns zeroes. */
public final class NullBlockDevice extends ComputedBlockDevice {

    /** Where write payloads are read and forgotten: shared by every write, since nobody reads it. */
    private static final ByteBuffer SINK = ByteBuffer.allocateDirect(64 * 1024);

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

    /**
     * Lends views of one scratch buffer, so a large WRITE's payload is read and dropped on the
     * thread that received it, with no copy and no hand-off to a thread of its own.
     */
    @Override
    public WriteLease leaseWrite(long offset, int length) {
        if (length <= 0) {
            return null;
        }
        ByteBuffer[] views = new ByteBuffer[(length - 1) / SINK.capacity() + 1];
        for (int i = 0; i < views.length; i++) {
            views[i] = SINK.duplicate().limit(Math.min(SINK.capacity(), length - i * SINK.capacity()));
        }
        return new WriteLease() {
            @Override
            public ByteBuffer[] buffers() {
                return views;
            }

            @Override
            public void commit(boolean fua) throws DeviceException {
                ensureOpen();
            }

            @Override
            public void release() {
            }
        };
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
