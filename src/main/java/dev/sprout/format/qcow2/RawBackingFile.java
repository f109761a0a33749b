package dev.sprout.format.qcow2;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Capabilities;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.Extent;
import dev.sprout.block.RequestException;
import dev.sprout.block.ZeroFlags;
import dev.sprout.os.NativeException;
import dev.sprout.os.NativeFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/** A raw image below a qcow2 overlay: read-only, with holes found by SEEK_DATA/SEEK_HOLE. */
final class RawBackingFile implements BlockDevice {

    /** The file, as shown in messages. */
    private final Path path;
    /** Positional reads, shared by every thread. */
    private final FileChannel channel;
    /** Finds data and holes. */
    private final NativeFile nativeFile;
    /** The file size when opened. */
    private final long size;

    private RawBackingFile(Path path, FileChannel channel, NativeFile nativeFile) throws IOException {
        this.path = path;
        this.channel = channel;
        this.nativeFile = nativeFile;
        this.size = channel.size();
    }

    static RawBackingFile open(Path path) throws IOException {
        FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
        try {
            return new RawBackingFile(path, channel, NativeFile.open(path, false));
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
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
    public void read(long offset, ByteBuffer dst) throws IOException {
        long at = offset;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, at);
            if (n < 0) {
                while (dst.hasRemaining()) {
                    dst.put((byte) 0);
                }
                return;
            }
            at += n;
        }
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        throw RequestException.readOnly("write", this);
    }

    @Override
    public void flush() {
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        throw RequestException.readOnly("trim", this);
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws IOException {
        throw RequestException.readOnly("zero", this);
    }

    @Override
    public void cache(long offset, long length) {
    }

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        long end = offset + length;
        List<Extent> extents = new ArrayList<>();
        try {
            long at = offset;
            while (at < end && extents.size() < 1024) {
                long data = nativeFile.seekData(at);
                if (data < 0 || data >= end) {
                    extents.add(Extent.unallocated(at, end - at));
                    break;
                }
                if (data > at) {
                    extents.add(Extent.unallocated(at, data - at));
                }
                long hole = nativeFile.seekHole(data);
                long dataEnd = hole < 0 ? end : Math.min(end, hole);
                extents.add(Extent.data(data, dataEnd - data));
                at = dataEnd;
            }
        } catch (NativeException e) {
            if (!e.notSupported()) {
                throw new DeviceException(Errno.EIO, this + " extents@" + offset + ": " + e.getMessage(), e);
            }
            return List.of(Extent.data(offset, length));
        }
        return extents;
    }

    @Override
    public void close() throws IOException {
        try (channel; nativeFile) {
            // both closed
        }
    }

    @Override
    public String toString() {
        return "Raw(" + path + ")";
    }
}
