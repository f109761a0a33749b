package dev.sprout.client;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A blocking socket to an NBD server: whole-buffer reads for the one reader, and whole-message
 * writes under a lock so requests from many threads never interleave.
 */
final class SocketWire implements AutoCloseable {

    private final SocketChannel channel;
    private final String peer;
    /** Held while one message is written. */
    private final ReentrantLock writeLock = new ReentrantLock();

    private SocketWire(SocketChannel channel, String peer) {
        this.channel = channel;
        this.peer = peer;
    }

    static SocketWire connect(NbdUri uri) throws IOException {
        SocketChannel channel;
        if (uri.address() instanceof InetSocketAddress inet) {
            channel = SocketChannel.open(new InetSocketAddress(inet.getHostString(), inet.getPort()));
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        } else {
            channel = SocketChannel.open(uri.address());
        }
        return new SocketWire(channel, uri.text());
    }

    /** Exactly {@code n} bytes, flipped for reading. */
    ByteBuffer read(int n) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(n);
        readFully(buffer);
        return buffer.flip();
    }

    /** Fills {@code buffer} to its limit. */
    void readFully(ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                throw new EOFException("connection to " + peer + " closed by the server");
            }
        }
    }

    /** Reads and drops {@code n} bytes. */
    void skip(long n) throws IOException {
        ByteBuffer scratch = ByteBuffer.allocate((int) Math.min(n, 64 * 1024));
        while (n > 0) {
            scratch.clear().limit((int) Math.min(n, scratch.capacity()));
            readFully(scratch);
            n -= scratch.limit();
        }
    }

    /** Writes the buffers as one message, never interleaved with another thread's. */
    void write(ByteBuffer... buffers) throws IOException {
        writeLock.lock();
        try {
            long left = 0;
            for (ByteBuffer buffer : buffers) {
                left += buffer.remaining();
            }
            while (left > 0) {
                left -= channel.write(buffers);
            }
        } finally {
            writeLock.unlock();
        }
    }

    void shutdownOutput() throws IOException {
        channel.shutdownOutput();
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    @Override
    public String toString() {
        return peer;
    }
}
