package dev.sprout.server;

import dev.sprout.block.PageAlignedBuffer;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ScatteringByteChannel;

/**
 * The client-to-server byte stream of one connection, read through a buffer so that small
 * headers cost no system call each. Only the connection's reader thread uses it.
 */
final class ConnectionInput {

    /** Bytes buffered at most; also the largest request payload read in place. */
    static final int BUFFER_SIZE = 64 * 1024;

    private final ScatteringByteChannel channel;
    /** Read-mode view of bytes received but not yet consumed. */
    private final ByteBuffer buffer = PageAlignedBuffer.allocate(BUFFER_SIZE).flip();

    ConnectionInput(ScatteringByteChannel channel) {
        this.channel = channel;
    }

    /**
     * Blocks until {@code count} bytes are buffered and returns a view of them, consumed.
     * Returns null on a clean end of stream before the first byte; throws {@link EOFException}
     * when the stream ends in the middle.
     */
    ByteBuffer next(int count) throws IOException {
        if (count > BUFFER_SIZE) {
            throw new IllegalArgumentException("cannot buffer " + count + " bytes");
        }
        if (!fill(count)) {
            return null;
        }
        ByteBuffer view = buffer.slice(buffer.position(), count);
        buffer.position(buffer.position() + count);
        return view;
    }

    /** Whether {@code count} bytes are buffered, so that {@link #next} would not wait for the client. */
    boolean hasBuffered(int count) {
        return buffer.remaining() >= count;
    }

    /** Like {@link #next} but an end of stream anywhere is an {@link EOFException}. */
    ByteBuffer require(int count, String what) throws IOException {
        ByteBuffer view = next(count);
        if (view == null) {
            throw new EOFException("connection closed while reading " + what);
        }
        return view;
    }

    /** Fills {@code dst} completely, first from the buffer and then straight from the channel. */
    void readFully(ByteBuffer dst, String what) throws IOException {
        readFully(new ByteBuffer[] {dst}, what);
    }

    /**
     * Fills every buffer of {@code dsts} completely, in order: first from the buffer, then with
     * scattering reads straight from the channel.
     */
    void readFully(ByteBuffer[] dsts, String what) throws IOException {
        int first = 0;
        for (; first < dsts.length && buffer.hasRemaining(); first++) {
            ByteBuffer dst = dsts[first];
            int fromBuffer = Math.min(buffer.remaining(), dst.remaining());
            dst.put(buffer.slice(buffer.position(), fromBuffer));
            buffer.position(buffer.position() + fromBuffer);
            if (dst.hasRemaining()) {
                break;
            }
        }
        while (first < dsts.length) {
            if (channel.read(dsts, first, dsts.length - first) < 0) {
                throw new EOFException("connection closed while reading " + what);
            }
            while (first < dsts.length && !dsts[first].hasRemaining()) {
                first++;
            }
        }
    }

    /** Reads and drops {@code count} bytes. */
    void skip(long count, String what) throws IOException {
        long left = count;
        while (left > 0) {
            if (!buffer.hasRemaining() && !fill(1)) {
                throw new EOFException("connection closed while skipping " + what);
            }
            int n = (int) Math.min(left, buffer.remaining());
            buffer.position(buffer.position() + n);
            left -= n;
        }
    }

    /** Makes at least {@code count} bytes available; false on end of stream with none buffered. */
    private boolean fill(int count) throws IOException {
        if (buffer.remaining() >= count) {
            return true;
        }
        buffer.compact();
        try {
            while (buffer.position() < count) {
                if (channel.read(buffer) < 0) {
                    if (buffer.position() == 0) {
                        return false;
                    }
                    throw new EOFException("connection closed after " + buffer.position()
                            + " of " + count + " bytes");
                }
            }
        } finally {
            buffer.flip();
        }
        return true;
    }
}
