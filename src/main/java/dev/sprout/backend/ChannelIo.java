package dev.sprout.backend;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockException;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.RequestException;
import dev.sprout.os.NativeException;
import dev.sprout.os.NativeFile;
import dev.sprout.os.SerialWrites;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;

/**
 * Positional I/O on the {@link FileChannel} of a device in a host file or block device, with the
 * host's failures mapped to the block layer's exceptions, each naming the device. It owns the
 * channel and the device's {@link NativeFile}: closing it makes every later operation of its
 * device fail with ESHUTDOWN, then closes both.
 */
final class ChannelIo implements Closeable {

    /** Zeroes to write and to read past an end; only duplicates are used. */
    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(1 << 20).asReadOnlyBuffer();

    /** What a read finds where the channel ends before the buffer is full. */
    enum ShortRead {
        /** The rest reads as zeroes: a file that shrank behind our back. */
        ZERO_FILL,
        /** The read fails with EIO: a device does not end early. */
        FAIL
    }

    /** Whether writes from several threads go to the host one at a time. */
    enum Writers {
        /** One at a time, in the order they arrive: for a regular file (see {@link SerialWrites}). */
        ONE_AT_A_TIME,
        /** All at once: a block device's buffered writes take no such lock. */
        CONCURRENT
    }

    /** The device, as named in messages. */
    private final BlockDevice device;
    /** Shared by every thread, which is safe for positional I/O. */
    private final FileChannel channel;
    /** Prefetches; the device uses it for more. */
    private final NativeFile nativeFile;
    /** The device size, the range a failed flush names. */
    private final long size;
    /** Whether every modification fails with EPERM. */
    private final boolean readOnly;
    private final ShortRead shortRead;
    /** Carries out every write to the channel when writes go one at a time, else null. */
    private final SerialWrites serialWrites;
    /** Set by {@link #close}; every later operation fails. */
    private volatile boolean closed;

    ChannelIo(BlockDevice device, FileChannel channel, NativeFile nativeFile, long size, boolean readOnly,
            ShortRead shortRead, Writers writers) {
        this.device = device;
        this.channel = channel;
        this.nativeFile = nativeFile;
        this.size = size;
        this.readOnly = readOnly;
        this.shortRead = shortRead;
        this.serialWrites = writers == Writers.ONE_AT_A_TIME ? new SerialWrites(channel) : null;
    }

    /** Fills {@code dst} from {@code offset}; where the channel ends early, as {@link ShortRead} says. */
    void read(long offset, ByteBuffer dst) throws BlockException {
        ensureOpen();
        int length = dst.remaining();
        try {
            long position = offset;
            while (dst.hasRemaining()) {
                int n = channel.read(dst, position);
                if (n < 0 && shortRead == ShortRead.FAIL) {
                    throw new IOException("unexpected end of device at " + position);
                }
                if (n <= 0 && shortRead == ShortRead.ZERO_FILL) {
                    while (dst.hasRemaining()) {
                        dst.put(ZEROES.duplicate().limit(Math.min(ZEROES.capacity(), dst.remaining())));
                    }
                    break;
                }
                position += n;
            }
        } catch (IOException e) {
            throw failure("read", offset, length, e);
        }
    }

    /**
     * Writes {@code count} bytes at {@code offset} into {@code target} by the channel's
     * transferTo (sendfile(2) into a socket), never through Java memory; where the channel ends
     * early, as {@link ShortRead} says, zeroes written from memory for {@code ZERO_FILL}. The
     * target may have taken part of the bytes when this fails.
     */
    void transferTo(long offset, long count, WritableByteChannel target) throws BlockException {
        ensureOpen();
        long position = offset;
        long end = offset + count;
        try {
            while (position < end) {
                long n = channel.transferTo(position, end - position, target);
                if (n > 0) {
                    position += n;
                } else if (shortRead == ShortRead.FAIL) {
                    throw new IOException("unexpected end of device at " + position);
                } else {
                    for (ByteBuffer zeroes = ZEROES.duplicate(); position < end; position += zeroes.capacity()) {
                        zeroes.clear().limit((int) Math.min(zeroes.capacity(), end - position));
                        while (zeroes.hasRemaining()) {
                            target.write(zeroes);
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw failure("transfer", offset, count, e);
        }
    }

    /** Writes all of {@code src} at {@code offset}; with {@code fua}, onto the disk before returning. */
    void write(long offset, ByteBuffer src, boolean fua) throws BlockException {
        ensureWritable("write");
        int length = src.remaining();
        try {
            writeFully(src, offset);
            if (fua) {
                channel.force(false);
            }
        } catch (IOException e) {
            throw failure("write", offset, length, e);
        }
    }

    /** Forces the written data onto the disk. */
    void flush() throws BlockException {
        ensureOpen();
        try {
            channel.force(false);
        } catch (IOException e) {
            throw failure("flush", 0, size, e);
        }
    }

    /** Asks the host to read the range ahead (posix_fadvise WILLNEED); where it cannot, nothing is done. */
    void cache(long offset, long length) throws BlockException {
        ensureOpen();
        try {
            nativeFile.willNeed(offset, length);
        } catch (NativeException e) {
            if (!e.notSupported()) {
                throw failure("cache", offset, length, e);
            }
        }
    }

    /**
     * Writes zeroes over the range, where nothing can zero it without writing. The caller checks
     * that the device is writable and maps a failure with {@link #failure} for its own operation.
     */
    void writeZeroes(long offset, long length) throws IOException {
        long end = offset + length;
        for (long position = offset; position < end; ) {
            int chunk = (int) Math.min(ZEROES.capacity(), end - position);
            writeFully(ZEROES.duplicate().limit(chunk), position);
            position += chunk;
        }
    }

    private void writeFully(ByteBuffer src, long offset) throws IOException {
        if (serialWrites != null) {
            serialWrites.write(offset, src);
        } else {
            SerialWrites.writeAll(channel, offset, src);
        }
    }

    void ensureOpen() throws DeviceException {
        if (closed) {
            throw new DeviceException(Errno.ESHUTDOWN, device + " is closed");
        }
    }

    void ensureWritable(String operation) throws BlockException {
        ensureOpen();
        if (readOnly) {
            throw RequestException.readOnly(operation, device);
        }
    }

    /** The host's failure as the client sees it: ESHUTDOWN once closed, ENOSPC for a full disk or quota, else EIO. */
    DeviceException failure(String operation, long offset, long length, IOException e) {
        String where = device + " " + operation + "@" + offset + "+" + length + ": ";
        if (e instanceof ClosedChannelException) {
            return new DeviceException(Errno.ESHUTDOWN, where + "closed (" + e.getClass().getSimpleName() + ")", e);
        }
        return new DeviceException(noSpace(e) ? Errno.ENOSPC : Errno.EIO, where + e.getMessage(), e);
    }

    /**
     * Whether {@code e} says the host is out of room. NIO reports errno only as strerror(3) text,
     * so its messages are matched; native calls carry the errno.
     */
    static boolean noSpace(IOException e) {
        if (e instanceof NativeException n) {
            return n.noSpace();
        }
        String message = String.valueOf(e.getMessage());
        return message.contains("No space left on device") || message.contains("Disk quota exceeded")
                || message.contains("File too large");
    }

    /** Makes every later operation fail, then closes the channel and the native descriptor. */
    @Override
    public void close() throws IOException {
        closed = true;
        try (channel; nativeFile) {
            // closes both, the native descriptor once its calls in progress have returned
        }
    }
}
