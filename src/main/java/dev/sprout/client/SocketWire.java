package dev.sprout.client;

import dev.sprout.block.TransferredWrites;
import dev.sprout.nbd.ProtocolException;
import dev.sprout.os.SocketDescriptor;

import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A blocking socket to an NBD server: whole-buffer reads for the one reader, and whole-message
 * writes under a lock so requests from many threads never interleave.
 */
final class SocketWire implements AutoCloseable {

    /**
     * The send buffer asked for on a Unix socket (the kernel doubles it, up to twice
     * net.core.wmem_max), for requests with a payload of 1 MiB and more: with the default 208 KiB
     * a writer went to sleep several times per request, holding the write lock. Copying 2 GiB of
     * data from a file into an nbdkit memory export on 2 cores took 0.65 s with the default and
     * 0.57 s with this (by sendfile: 0.60 and 0.48 s; 512 KiB and 4 MiB were no better). Not set
     * for TCP, where setting it would turn off the kernel's own tuning of the buffer.
     */
    static final int UNIX_SEND_BUFFER = 1 << 20;

    private final SocketChannel channel;
    private final String peer;
    /** Whether it is a Unix-domain socket, not TCP. */
    private final boolean unix;
    /** Held while one message is written. */
    private final ReentrantLock writeLock = new ReentrantLock();
    /** Why a message failed part-way and the socket was closed, or null. */
    private volatile Exception cutShortBy;
    /** The socket's descriptor once asked for ({@link #descriptor}), empty when it cannot be had. */
    private Optional<SocketDescriptor> descriptor;

    private SocketWire(SocketChannel channel, String peer, boolean unix) {
        this.channel = channel;
        this.peer = peer;
        this.unix = unix;
    }

    /** Connects to the server {@code uri} names, the socket watched by {@code deadline} from before it connects. */
    static SocketWire connect(NbdUri uri, HandshakeDeadline deadline) throws IOException {
        boolean tcp = uri.address() instanceof InetSocketAddress;
        SocketChannel channel = tcp ? SocketChannel.open() : SocketChannel.open(StandardProtocolFamily.UNIX);
        deadline.watch(channel);
        try {
            if (uri.address() instanceof InetSocketAddress inet) {
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                channel.connect(new InetSocketAddress(inet.getHostString(), inet.getPort()));
            } else {
                channel.setOption(StandardSocketOptions.SO_SNDBUF, UNIX_SEND_BUFFER);
                channel.connect(uri.address());
            }
        } catch (IOException e) {
            channel.close();
            throw e;
        }
        return new SocketWire(channel, uri.text(), !tcp);
    }

    /**
     * The socket's descriptor, for splicing payloads (found on the first call); empty where it
     * cannot be had, and on TCP. A TCP segment from a network card arrives as its own page
     * fragment, and each takes one of a pipe's page references: a 1 MiB chunk in 1448-byte
     * segments needs 725 where a pipe of 1 MiB has 256, so chunks would fall back to memory
     * after the copy into the pipe had been paid. Over a Unix socket the sender's large writes
     * arrive in fragments of up to 32 KiB.
     */
    synchronized Optional<SocketDescriptor> descriptor() {
        if (descriptor == null) {
            descriptor = unix ? SocketDescriptor.of(channel) : Optional.empty();
        }
        return descriptor;
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
            writeFully(buffers);
        } catch (Exception e) {
            cutShort(e);
            throw e;
        } finally {
            writeLock.unlock();
        }
    }

    /**
     * Writes {@code header}, then the {@code count} bytes for export offset {@code offset} that
     * {@code source} puts into the socket itself, as one message.
     */
    void write(ByteBuffer header, TransferredWrites.Source source, long offset, long count) throws IOException {
        writeLock.lock();
        try {
            writeFully(header);
            source.transferTo(offset, count, channel);
        } catch (Exception e) {
            cutShort(e);
            throw e;
        } finally {
            writeLock.unlock();
        }
    }

    private void writeFully(ByteBuffer... buffers) throws IOException {
        long left = 0;
        for (ByteBuffer buffer : buffers) {
            left += buffer.remaining();
        }
        while (left > 0) {
            left -= channel.write(buffers);
        }
    }

    /**
     * A message that failed on its way out may have gone out in part, and whatever followed would
     * be read as its rest: the socket is closed before the lock is let go, so nothing else is
     * sent, and the reader, finding it closed, fails every request in flight ({@link #brokenBecause}).
     */
    private void cutShort(Exception failure) {
        cutShortBy = failure;
        try {
            channel.close();
        } catch (IOException e) {
            failure.addSuppressed(e);
        }
    }

    /**
     * Why the connection is broken, given what the reader met: when a message was cut short, the
     * socket was closed for that reason, which the requests in flight are failed with; a failure
     * of the socket itself is named with the peer (an end of input or a bad frame names it already).
     */
    IOException brokenBecause(IOException readFailure) {
        Exception cause = cutShortBy;
        if (cause != null) {
            return new IOException("a request to " + peer + " was cut short: " + reason(cause), cause);
        }
        if (readFailure instanceof EOFException || readFailure instanceof ProtocolException) {
            return readFailure;
        }
        return new IOException("connection to " + peer + " failed: " + reason(readFailure), readFailure);
    }

    /** An exception's message, or its kind when it has none (an AsynchronousCloseException). */
    static String reason(Exception e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
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
