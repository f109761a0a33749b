package dev.sprout.format.qcow2;

import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.os.ImageLock;
import dev.sprout.os.NativeException;
import dev.sprout.os.NativeFile;
import dev.sprout.os.SerialWrites;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** The host file of one qcow2 image: positional I/O whose failures name the image and the offset. */
final class ImageFile implements Closeable {

    /** The image as shown in messages, {@code qcow2(/path)}. */
    private final String name;
    /** Shared by every thread, which positional I/O allows. */
    private final FileChannel channel;
    /** Punches holes where clusters are freed. */
    private final NativeFile nativeFile;
    /** QEMU-compatible writer's lock, null when opened read-only. */
    private final ImageLock lock;
    /** Whether {@link #force} forces. */
    private volatile boolean forcing = true;
    /** Carries out every write to the channel, one at a time (see {@link SerialWrites}). */
    private final SerialWrites writes;

    private ImageFile(String name, FileChannel channel, NativeFile nativeFile, ImageLock lock) {
        this.name = name;
        this.channel = channel;
        this.nativeFile = nativeFile;
        this.lock = lock;
        this.writes = new SerialWrites(channel);
    }

    /**
     * Opens the image file; for writing it first takes QEMU's writer locks, so an image that QEMU
     * or another sprout writes (or holds open forbidding writers) is refused, and they refuse it.
     */
    static ImageFile open(Path path, boolean writable) throws IOException {
        return open(path, writable, writable ? ImageLock.forWriter(path) : null);
    }

    /** Opens the image read-only under QEMU's reader lock, so that no one writes it meanwhile (for checks). */
    static ImageFile openStill(Path path) throws IOException {
        return open(path, false, ImageLock.forReader(path));
    }

    private static ImageFile open(Path path, boolean writable, ImageLock lock) throws IOException {
        try {
            FileChannel channel = writable
                    ? FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)
                    : FileChannel.open(path, StandardOpenOption.READ);
            try {
                NativeFile nativeFile = NativeFile.open(path, writable);
                return new ImageFile("qcow2(" + path.toAbsolutePath() + ")", channel, nativeFile, lock);
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

    /** Creates a new file, failing if one exists. */
    static ImageFile create(Path path) throws IOException {
        FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            return new ImageFile("qcow2(" + path.toAbsolutePath() + ")", channel, NativeFile.unsupported(path), null);
        } catch (RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    String name() {
        return name;
    }

    FileChannel channel() {
        return channel;
    }

    long size() throws DeviceException {
        try {
            return channel.size();
        } catch (IOException e) {
            throw failure("size", 0, e);
        }
    }

    /** Fills {@code dst} only if every byte is in the page cache, and says whether it did. */
    boolean readIfCached(long offset, ByteBuffer dst) {
        return nativeFile.readIfCached(offset, dst);
    }

    /** Fills {@code dst}; bytes past the end of the file read as zeroes. */
    void read(long offset, ByteBuffer dst, String what) throws DeviceException {
        long at = offset;
        try {
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
        } catch (IOException e) {
            throw failure(what, offset, e);
        }
    }

    /**
     * Writes all of {@code src}. Writes go one at a time ({@link SerialWrites}): unordered, their
     * writers spun on the inode's lock in the kernel (31% of the CPU of a copy into a new qcow2
     * image went to rwsem_spin_on_owner).
     */
    void write(long offset, ByteBuffer src, String what) throws DeviceException {
        try {
            writes.write(offset, src);
        } catch (IOException e) {
            throw failure(what, offset, e);
        }
    }

    /** Makes what was written so far durable (fdatasync), unless forcing was {@linkplain #stopForcing stopped}. */
    void force() throws DeviceException {
        if (forcing) {
            forceNow();
        }
    }

    /** Makes what was written so far durable (fdatasync), stopped or not. */
    void forceNow() throws DeviceException {
        try {
            channel.force(false);
        } catch (IOException e) {
            throw failure("flush", 0, e);
        }
    }

    /**
     * From now on {@link #force} does nothing: the writes that metadata flushes order by forcing go
     * to the page cache unordered, for a file that matters only once complete (see {@link Qcow2Image#scratch}).
     */
    void stopForcing() {
        forcing = false;
    }

    /** Whether {@link #force} forces: until {@link #stopForcing}. */
    boolean forcing() {
        return forcing;
    }

    /**
     * Gives the range host blocks (fallocate, the size unchanged), so that writing it later cannot
     * fail for lack of space; where fallocate is missing, zeroes are written instead.
     */
    void reserve(long offset, long length) throws DeviceException {
        try {
            nativeFile.allocate(offset, length);
        } catch (NativeException e) {
            if (!e.notSupported()) {
                throw failure("reserve", offset, e);
            }
            write(offset, ByteBuffer.allocate((int) length), "reserve");
        }
    }

    /** Gives freed clusters back to the host; file systems without hole punching keep them. */
    void punch(long offset, long length) throws DeviceException {
        try {
            nativeFile.punchHole(offset, length);
        } catch (NativeException e) {
            if (!e.notSupported()) {
                throw failure("punch", offset, e);
            }
        }
    }

    @Override
    public void close() throws IOException {
        try (lock; channel; nativeFile) {
            // all closed, the lock last
        }
    }

    @Override
    public String toString() {
        return name;
    }

    private DeviceException failure(String what, long offset, IOException e) {
        String where = name + " " + what + "@0x" + Long.toHexString(offset) + ": ";
        if (e instanceof ClosedChannelException) {
            return new DeviceException(Errno.ESHUTDOWN, where + "closed", e);
        }
        String message = String.valueOf(e.getMessage());
        boolean full = message.contains("No space left") || message.contains("Disk quota exceeded")
                || (e instanceof NativeException n && n.noSpace());
        return new DeviceException(full ? Errno.ENOSPC : Errno.EIO, where + message, e);
    }
}
