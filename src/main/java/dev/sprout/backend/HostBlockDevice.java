package dev.sprout.backend;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockException;
import dev.sprout.block.BlockSizes;
import dev.sprout.block.Capabilities;
import dev.sprout.block.Extent;
import dev.sprout.block.RequestException;
import dev.sprout.block.ZeroFlags;
import dev.sprout.os.DeviceIoctls;
import dev.sprout.os.NativeException;
import dev.sprout.os.NativeFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * A host block device ({@code /dev/sdX}, a partition, {@code /dev/loopN}) as a disk: data through
 * a {@link FileChannel}, size and zeroing through the device's ioctl(2)s. Zeroing is aligned to
 * the logical block size (the unaligned edges are written): a range that may become a hole is
 * punched with fallocate(2), which the kernel allows only where the device guarantees zeroes, or
 * discarded where the device says discarded blocks read as zeroes; otherwise BLKZEROOUT, else
 * zeroes written. Trim is BLKDISCARD. Every range reads as data: a device has no holes to report.
 */
public final class HostBlockDevice implements BlockDevice {

    /** sys/stat.h: the file type bits of st_mode, and the type of a block device. */
    private static final int S_IFMT = 0170000;
    private static final int S_IFBLK = 0060000;

    /** The device, as shown in messages. */
    private final Path path;
    /** Data I/O through the page cache (the ioctls below keep it coherent); an early end fails. */
    private final ChannelIo io;
    /** The descriptor for fallocate(2) and the ioctls; closed by {@link #io}. */
    private final NativeFile nativeFile;
    private final DeviceIoctls ioctls;
    /** The device size when opened. */
    private final long size;
    /** The logical block size: zeroing and discards cover whole blocks only. */
    private final int logicalBlock;
    /** Whether the device says discarded blocks read as zeroes. */
    private final boolean discardZeroes;
    private final boolean readOnly;
    /** Set once fallocate(PUNCH_HOLE) proved unsupported on this device. */
    private volatile boolean noPunch;
    /** Set once BLKZEROOUT proved unsupported on this device. */
    private volatile boolean noZeroOut;

    private HostBlockDevice(Path path, FileChannel channel, NativeFile nativeFile, boolean readOnly) throws IOException {
        this.path = path;
        this.nativeFile = nativeFile;
        this.ioctls = new DeviceIoctls(nativeFile);
        this.readOnly = readOnly;
        long bytes;
        int block;
        boolean zeroes;
        try {
            bytes = ioctls.size();
            block = ioctls.logicalBlockSize();
            zeroes = ioctls.discardZeroes();
        } catch (NativeException e) {
            if (!e.notSupported()) {
                throw e;
            }
            // Without native access: the JDK finds a device's size itself; assume 512-byte sectors.
            bytes = channel.size();
            block = 512;
            zeroes = false;
        }
        this.size = bytes;
        this.logicalBlock = block;
        this.discardZeroes = zeroes;
        this.io = new ChannelIo(this, channel, nativeFile, size, readOnly, ChannelIo.ShortRead.FAIL,
                ChannelIo.Writers.CONCURRENT);
    }

    /** Whether {@code path} is a block device (following symbolic links). */
    public static boolean isBlockDevice(Path path) {
        try {
            return ((Integer) Files.getAttribute(path, "unix:mode") & S_IFMT) == S_IFBLK;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return false;
        }
    }

    /** Opens the block device at {@code path}; its size is the device size. Failures name the device. */
    public static HostBlockDevice open(Path path, boolean readOnly) throws IOException {
        if (!isBlockDevice(path)) {
            throw new FileSystemException(path.toString(), null, "is not a block device");
        }
        FileChannel channel = FileOpening.channel(path, readOnly);
        try {
            return new HostBlockDevice(path, channel, NativeFile.open(path, !readOnly), readOnly);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** The logical block size in bytes. */
    public int logicalBlockSize() {
        return logicalBlock;
    }

    /** Whether the device says discarded blocks read as zeroes. */
    public boolean discardZeroes() {
        return discardZeroes;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public Capabilities capabilities() {
        // Byte-granular I/O works through the page cache; whole logical blocks avoid read-modify-write.
        BlockSizes sizes = new BlockSizes(1, Math.max(4096, logicalBlock), 32 << 20);
        Capabilities all = new Capabilities(true, true, true, true, true, false, true, true, false, sizes);
        return readOnly ? all.readOnly() : all;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws BlockException {
        io.read(offset, dst);
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws BlockException {
        io.write(offset, src, fua);
    }

    @Override
    public void flush() throws BlockException {
        io.flush();
    }

    /** Discards the whole logical blocks in the range; a device without discard ignores it, as trims may be. */
    @Override
    public void trim(long offset, long length, boolean fua) throws BlockException {
        io.ensureWritable("trim");
        long start = alignUp(offset);
        long end = alignDown(offset + length);
        if (start < end) {
            try {
                ioctls.discard(start, end - start);
            } catch (NativeException e) {
                if (!e.notSupported()) {
                    throw io.failure("trim", offset, length, e);
                }
            }
        }
        if (fua) {
            flush();
        }
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws BlockException {
        io.ensureWritable("zero");
        long end = offset + length;
        long start = Math.min(end, alignUp(offset));
        long alignedEnd = Math.max(start, alignDown(end));
        try {
            if (start < alignedEnd && !zeroBlocks(start, alignedEnd - start, flags.noHole())) {
                if (flags.fast()) {
                    throw RequestException.notFast(this);
                }
                io.writeZeroes(start, alignedEnd - start);
            }
            io.writeZeroes(offset, start - offset);
            io.writeZeroes(alignedEnd, end - alignedEnd);
        } catch (BlockException e) {
            throw e;
        } catch (IOException e) {
            throw io.failure("zero", offset, length, e);
        }
        if (flags.fua()) {
            flush();
        }
    }

    /** Zeroes whole logical blocks without writing them; false when the device offers no way to. */
    private boolean zeroBlocks(long offset, long length, boolean noHole) throws NativeException {
        if (!noHole && !noPunch) {
            try {
                // fallocate(2) on a block device: "the kernel guarantees that the range reads as zeroes".
                nativeFile.punchHole(offset, length);
                return true;
            } catch (NativeException e) {
                noPunch = unsupported(e);
            }
        }
        if (!noHole && discardZeroes) {
            ioctls.discard(offset, length);
            return true;
        }
        if (!noZeroOut) {
            try {
                ioctls.zeroOut(offset, length);
                return true;
            } catch (NativeException e) {
                noZeroOut = unsupported(e);
            }
        }
        return false;
    }

    @Override
    public void cache(long offset, long length) throws BlockException {
        io.cache(offset, length);
    }

    @Override
    public List<Extent> extents(long offset, long length) throws BlockException {
        io.ensureOpen();
        return List.of(Extent.data(offset, length));
    }

    @Override
    public void close() throws IOException {
        io.close();
    }

    @Override
    public String toString() {
        return "Device(" + path + ")";
    }

    private long alignUp(long offset) {
        long rounded = (offset + logicalBlock - 1) / logicalBlock * logicalBlock;
        return Math.min(rounded, size);
    }

    private long alignDown(long offset) {
        return offset / logicalBlock * logicalBlock;
    }

    /** Returns true for a way of zeroing the device lacks; rethrows any other failure. */
    private static boolean unsupported(NativeException e) throws NativeException {
        if (!e.notSupported()) {
            throw e;
        }
        return true;
    }
}
