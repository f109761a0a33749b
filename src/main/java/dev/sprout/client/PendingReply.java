package dev.sprout.client;

import dev.sprout.block.Completion;
import dev.sprout.block.BlockException;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.RequestException;
import dev.sprout.nbd.NbdError;
import dev.sprout.nbd.ProtocolException;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * One request in flight: what it asked for, where its reply goes (a READ's buffer, BLOCK_STATUS
 * descriptors), and the outcome once the last chunk arrived. Written by the reader thread only,
 * read by the caller after {@link #await()}, which the latch orders, or handed to a completion.
 */
final class PendingReply {

    private static final byte[] ZEROES = new byte[64 * 1024];

    final String command;
    final long offset;
    final long length;
    /** A READ's destination, from its position, {@code length} bytes; null for other commands. */
    private final ByteBuffer data;
    /** A spliced READ's destination instead of {@link #data}; null otherwise. */
    private final SplicedChunk spliced;
    private final CountDownLatch done = new CountDownLatch(1);
    /** Told the outcome once there is one, or null when the caller awaits it. */
    private final Completion then;

    /** BLOCK_STATUS descriptors of base:allocation as {length, status} pairs. */
    final List<long[]> descriptors = new ArrayList<>();
    private long bytesFilled;
    private IOException failure;

    PendingReply(String command, long offset, long length, ByteBuffer data, Completion then) {
        this(command, offset, length, data, null, then);
    }

    /** A spliced READ of {@code chunk}. */
    PendingReply(SplicedChunk chunk, Completion then) {
        this("READ", chunk.offset(), chunk.length(), null, chunk, then);
    }

    private PendingReply(String command, long offset, long length, ByteBuffer data, SplicedChunk spliced, Completion then) {
        this.command = command;
        this.offset = offset;
        this.length = length;
        this.data = data;
        this.spliced = spliced;
        this.then = then;
    }

    boolean isRead() {
        return data != null || spliced != null;
    }

    /** Takes the {@code n} bytes for {@code at} that come next on {@code wire} into the READ's destination. */
    void receive(long at, long n, SocketWire wire) throws IOException {
        checkInside(at, n);
        if (spliced != null) {
            spliced.receive(at, (int) n, wire, wire.descriptor().orElseThrow());
        } else {
            wire.readFully(slice(at, n));
        }
    }

    /** The {@code n} bytes at {@code at} read as zeroes. */
    void fillZeroes(long at, long n) throws IOException {
        checkInside(at, n);
        if (spliced != null) {
            spliced.hole(at, (int) n);
            return;
        }
        ByteBuffer target = slice(at, n);
        while (target.hasRemaining()) {
            target.put(ZEROES, 0, Math.min(ZEROES.length, target.remaining()));
        }
    }

    /** The part of the READ's buffer that receives the {@code n} bytes at {@code at}. */
    private ByteBuffer slice(long at, long n) {
        return data.slice(data.position() + (int) (at - offset), (int) n);
    }

    /** Counts {@code n} bytes at {@code at} as filled, after checking they lie in the request. */
    private void checkInside(long at, long n) throws ProtocolException {
        if (!isRead() || at < offset || n < 0 || at - offset > length - n) {
            throw new ProtocolException("reply to " + this + " carries bytes " + at + "+" + n + " outside the request");
        }
        bytesFilled += n;
    }

    /** Records an error reply; the first one wins. */
    void fail(int error, String message) {
        if (failure == null) {
            failure = exception(NbdError.fromWire(error), command + " " + offset + "+" + length
                    + (message.isEmpty() ? "" : ": " + message));
        }
    }

    /** The connection broke before the reply was complete. */
    void abandon(IOException cause) {
        if (failure == null) {
            failure = new DeviceException(Errno.EIO, command + " " + offset + "+" + length + ": " + cause.getMessage(), cause);
        }
        finished();
    }

    /** Called by the reader after the last chunk. */
    void complete() {
        if (failure == null && isRead() && bytesFilled != length) {
            failure = new DeviceException(Errno.EIO, this + ": server sent " + bytesFilled + " of " + length + " bytes");
        }
        finished();
    }

    private void finished() {
        done.countDown();
        if (then != null) {
            then.done(failure);
        }
    }

    /** Waits for the reply; throws the server's error as a {@link BlockException}. */
    void await() throws IOException {
        try {
            done.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for " + this);
        }
        if (failure != null) {
            throw failure;
        }
        if (data != null) {
            data.position(data.position() + (int) length);
        }
    }

    private static BlockException exception(NbdError error, String message) {
        Errno errno = Errno.valueOf(error.name());
        return switch (errno) {
            case EPERM, EINVAL, EOVERFLOW, ENOTSUP -> new RequestException(errno, message);
            case EIO, ENOMEM, ENOSPC, ESHUTDOWN -> new DeviceException(errno, message);
        };
    }

    @Override
    public String toString() {
        return command + " " + offset + "+" + length;
    }
}
