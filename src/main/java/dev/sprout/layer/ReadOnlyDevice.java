package dev.sprout.layer;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Capabilities;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.block.RequestException;
import dev.sprout.block.ZeroFlags;

import java.io.IOException;
import java.nio.ByteBuffer;

/** A layer that refuses every modification with EPERM and advertises no write abilities. */
public final class ReadOnlyDevice extends ForwardingBlockDevice {

    public ReadOnlyDevice(BlockDevice in) {
        super(in);
    }

    @Override
    public Capabilities capabilities() {
        return in.capabilities().readOnly();
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        throw RequestException.readOnly("write", this);
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        throw RequestException.readOnly("trim", this);
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws IOException {
        throw RequestException.readOnly("zero", this);
    }
}
