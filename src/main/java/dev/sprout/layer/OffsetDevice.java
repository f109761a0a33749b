package dev.sprout.layer;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.ByteSize;
import dev.sprout.block.Extent;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.block.ZeroFlags;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** A window onto part of the device below: its size is the window's, every request is shifted into it. */
public final class OffsetDevice extends ForwardingBlockDevice {

    /** Where the window starts on the device below. */
    private final long offset;
    /** The window's size. */
    private final long length;

    /** A window of {@code length} bytes from {@code offset}, which must lie inside {@code in}. */
    OffsetDevice(BlockDevice in, long offset, long length) {
        super(in);
        if (offset < 0 || length <= 0 || length > in.size() - offset) {
            throw new IllegalArgumentException("window " + offset + "+" + length + " does not fit in " + in
                    + " (" + in.size() + " bytes)");
        }
        int alignment = in.capabilities().blockSizes().minimum();
        if (offset % alignment != 0) {
            throw new IllegalArgumentException("window offset " + offset + " is not a multiple of the "
                    + alignment + "-byte minimum block size of " + in);
        }
        this.offset = offset;
        this.length = length;
    }

    /** {@code offset:offset=N,length=M}: length defaults to the rest of the device. */
    static BlockDevice create(BlockDevice in, LayerParameters p) {
        p.accept("offset", "length");
        long offset = p.size("offset").orElse(0L);
        if (offset >= in.size()) {
            throw new IllegalArgumentException("layer 'offset': offset=" + p.string("offset").orElseThrow()
                    + " is at or past the end of " + in + " (" + in.size() + " bytes)");
        }
        long length = p.size("length").orElse(in.size() - offset);
        if (length == 0) {
            throw new IllegalArgumentException("layer 'offset': length=0; a window needs at least one byte");
        }
        if (length > in.size() - offset) {
            throw new IllegalArgumentException("layer 'offset': the window offset=" + offset + ",length=" + length
                    + " ends at byte " + (offset + length) + ", past the end of " + in + " (" + in.size()
                    + " bytes; at most length=" + (in.size() - offset) + " fits)");
        }
        return new OffsetDevice(in, offset, length);
    }

    @Override
    public long size() {
        return length;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        in.read(this.offset + offset, dst);
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        in.write(this.offset + offset, src, fua);
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        in.trim(this.offset + offset, length, fua);
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws IOException {
        in.zero(this.offset + offset, length, flags);
    }

    @Override
    public void cache(long offset, long length) throws IOException {
        in.cache(this.offset + offset, length);
    }

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        List<Extent> below = in.extents(this.offset + offset, length);
        List<Extent> shifted = new ArrayList<>(below.size());
        for (Extent extent : below) {
            shifted.add(extent.withRange(extent.offset() - this.offset, extent.length()));
        }
        return shifted;
    }

    @Override
    public String toString() {
        return "Offset(" + ByteSize.format(offset) + "+" + ByteSize.format(length) + ", " + in + ")";
    }
}
