package dev.sprout.backend;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockException;
import dev.sprout.block.BlockSizes;
import dev.sprout.block.Capabilities;
import dev.sprout.block.Extent;
import dev.sprout.block.RequestException;
import dev.sprout.block.TransferredWrites;
import dev.sprout.block.ZeroFlags;
import dev.sprout.os.ImageLock;
import dev.sprout.os.NativeException;
import dev.sprout.os.NativeFile;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/**
 * A disk in a regular host file: data through a {@link FileChannel}, holes, zeroing and
 * allocation status through {@link NativeFile}. The file keeps the size it had when opened.
 *
 * <p>The channel is interruptible: interrupting a thread during its I/O closes the channel, and so
 * the device, for every caller. Request threads must not be interrupted.
 */
public final class FileBlockDevice implements BlockDevice {

    /** The file, as shown in messages. */
    private final Path path;
    /** Data I/O and error mapping; a file that shrank reads as zeroes past its end. */
    private final ChannelIo io;
    /** Punches holes and finds extents; closed by {@link #io}. */
    private final NativeFile nativeFile;
    /** Zeroes ranges without writing where the file system can. */
    private final FileZeroing zeroing;
    /** The file size when opened: the device size. */
    private final long size;
    /** Finds data and holes. */
    private final FileExtents extents;
    /** Whether every modification fails with EPERM. */
    private final boolean readOnly;
    /** QEMU-compatible writer's lock, null when read-only. */
    private ImageLock lock;
    /** Set by {@link #writeBehind}; null otherwise. */
    private volatile WriteBehind writeBehind;

    FileBlockDevice(Path path, FileChannel channel, NativeFile nativeFile, boolean readOnly) throws IOException {
        this.path = path.toAbsolutePath();
        this.nativeFile = nativeFile;
        this.zeroing = new FileZeroing(nativeFile);
        this.size = channel.size();
        this.extents = new FileExtents(nativeFile, size);
        this.readOnly = readOnly;
        this.io = new ChannelIo(this, channel, nativeFile, size, readOnly, ChannelIo.ShortRead.ZERO_FILL,
                ChannelIo.Writers.ONE_AT_A_TIME);
    }

    /** Opens the existing regular file at {@code path}; its size is the device size. */
    public static FileBlockDevice open(Path path, boolean readOnly) throws IOException {
        return open(path, readOnly, OptionalLong.empty());
    }

    /**
     * Opens the regular file at {@code path}. With {@code size}, a missing file is created and a
     * smaller one extended to that size without writing (ftruncate(2) leaves a hole); a larger
     * one is refused rather than shrunk. Every failure names the file.
     */
    public static FileBlockDevice open(Path path, boolean readOnly, OptionalLong size) throws IOException {
        // An existing file is locked before size= may resize it; a new one once created.
        ImageLock lock = !readOnly && Files.isRegularFile(path) ? ImageLock.forWriter(path) : null;
        try {
            FileOpening.prepare(path, readOnly, size);
            if (lock == null && !readOnly) {
                lock = ImageLock.forWriter(path);
            }
            FileChannel channel = FileOpening.channel(path, readOnly);
            try {
                FileBlockDevice device = new FileBlockDevice(path, channel, NativeFile.open(path, !readOnly), readOnly);
                device.lock = lock;
                return device;
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            if (lock != null) {
                lock.close();
            }
            throw e;
        }
    }

    /** The file, as an absolute path. */
    public Path path() {
        return path;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public Capabilities capabilities() {
        Capabilities all = nativeFile.isNative()
                ? Capabilities.full()
                // Without native calls: trims are ignored, zeroes written, nothing fast, all data.
                : new Capabilities(true, true, true, false, false, false, false, true, false, BlockSizes.DEFAULT);
        return readOnly ? all.readOnly() : all;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws BlockException {
        io.read(offset, dst);
    }

    /**
     * Writes {@code count} bytes at {@code offset} into {@code target} without a copy through the
     * JVM: for a socket by sendfile(2), which passes the page-cache pages along (a {@link
     * TransferredWrites.Source} for an NBD export). Past the file's end, zeroes, as {@link #read}.
     */
    public void transferTo(long offset, long count, WritableByteChannel target) throws BlockException {
        io.transferTo(offset, count, target);
    }

    /** Reads at once when every byte is in the page cache (preadv2 with RWF_NOWAIT). */
    @Override
    public boolean readIfReady(long offset, ByteBuffer dst) throws BlockException {
        io.ensureOpen();
        return nativeFile.readIfCached(offset, dst);
    }

    /**
     * Writes at once unless {@code fua} asks for the disk: without it a write only copies into
     * the page cache, which waits for the disk only when the kernel throttles dirty memory.
     */
    @Override
    public boolean writeIfReady(long offset, ByteBuffer src, boolean fua) throws BlockException {
        if (fua || readOnly) {
            return false;
        }
        write(offset, src, false);
        return true;
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws BlockException {
        int length = src.remaining();
        io.write(offset, src, fua);
        WriteBehind behind = writeBehind;
        if (behind != null) {
            try {
                behind.wrote(offset, length);
            } catch (NativeException e) {
                throw io.failure("write", offset, length, e);
            }
        }
    }

    /**
     * From now on, written data goes to the disk soon after each write and leaves the page cache
     * once {@link WriteBehind#WINDOW} bytes more have been written: for a file written once, front
     * to back, like a copy's new destination (see {@link WriteBehind}). Not for a file in memory
     * (tmpfs, ramfs), whose pages are the file and have no disk to go to: there the calls only
     * cost time, walking pages they cannot drop. Copying 2 GiB of data into tmpfs on 2 cores took
     * 1.63 s of CPU time with them and 1.41 s without.
     */
    public void writeBehind() {
        if (nativeFile.isNative() && !readOnly && writeBehind == null && !nativeFile.inMemoryOnly()) {
            writeBehind = new WriteBehind(nativeFile);
        }
    }

    /** Whether {@link #writeBehind} took effect. */
    boolean writesBehind() {
        return writeBehind != null;
    }

    @Override
    public void flush() throws BlockException {
        io.flush();
    }

    /** Punches a hole; where the file system cannot, the trim is ignored, as trims may be. */
    @Override
    public void trim(long offset, long length, boolean fua) throws BlockException {
        io.ensureWritable("trim");
        try {
            nativeFile.punchHole(offset, length);
        } catch (NativeException e) {
            if (!e.notSupported()) {
                throw io.failure("trim", offset, length, e);
            }
        }
        if (fua) {
            flush();
        }
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws BlockException {
        io.ensureWritable("zero");
        boolean done;
        try {
            done = zeroing.zero(offset, length, flags.noHole());
        } catch (NativeException e) {
            throw io.failure("zero", offset, length, e);
        }
        if (!done) {
            if (flags.fast()) {
                throw RequestException.notFast(this);
            }
            try {
                io.writeZeroes(offset, length);
            } catch (IOException e) {
                throw io.failure("zero", offset, length, e);
            }
        }
        if (flags.fua()) {
            flush();
        }
    }

    @Override
    public void cache(long offset, long length) throws BlockException {
        io.cache(offset, length);
    }

    /** Data and holes as lseek(2) finds them, at most {@link FileExtents#MAX_EXTENTS}. */
    @Override
    public List<Extent> extents(long offset, long length) throws BlockException {
        io.ensureOpen();
        try {
            return extents.find(offset, length);
        } catch (NativeException e) {
            throw io.failure("extents", offset, length, e);
        }
    }

    @Override
    public void close() throws IOException {
        ImageLock held = lock;
        try (held; io) {
            // closes both, the lock last, once write-behind's calls on the file are done
            WriteBehind behind = writeBehind;
            if (behind != null) {
                behind.close();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("closing " + this + " interrupted");
        }
    }

    @Override
    public String toString() {
        return "File(" + path + ")";
    }
}
