package dev.sprout.block;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The base of every layer: forwards each call to the device below. A layer extends it and
 * overrides only what it changes.
 */
public abstract class ForwardingBlockDevice implements BlockDevice {

    /** The device this layer wraps. */
    protected final BlockDevice in;

    protected ForwardingBlockDevice(BlockDevice in) {
        this.in = in;
    }

    @Override
    public long size() {
        return in.size();
    }

    @Override
    public Capabilities capabilities() {
        return in.capabilities();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        in.read(offset, dst);
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        in.write(offset, src, fua);
    }

    @Override
    public void flush() throws IOException {
        in.flush();
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        in.trim(offset, length, fua);
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws IOException {
        in.zero(offset, length, flags);
    }

    @Override
    public void cache(long offset, long length) throws IOException {
        in.cache(offset, length);
    }

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        return in.extents(offset, length);
    }

    /** As non-blocking as the device below; a layer that waits says false. */
    @Override
    public boolean nonBlocking() {
        return in.nonBlocking();
    }

    /** As latency-bound as the device below; a layer that waits says true. */
    @Override
    public boolean latencyBound() {
        return in.latencyBound();
    }

    @Override
    public void close() throws IOException {
        in.close();
    }

    @Override
    public String toString() {
        return getClass().getSimpleName().replace("Device", "") + "(" + in + ")";
    }
}
