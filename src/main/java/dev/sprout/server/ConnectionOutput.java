package dev.sprout.server;

import dev.sprout.block.PageAlignedBuffer;
import dev.sprout.nbd.NbdError;
import dev.sprout.nbd.TransmissionReplies;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The server-to-client byte stream of one connection. Each call writes one whole message, so
 * replies to concurrent requests never interleave inside a message.
 *
 * <p>Small replies sent by the connection's reader thread (requests it answers itself) are
 * {@linkplain #holdReplies held}: they collect in a buffer and go out in one system call when
 * the reader has no more requests at hand ({@link #flush}), instead of one call (and one wake-up
 * of the client) per reply. A reply from any other thread goes out at once, after those held.
 */
final class ConnectionOutput {

    /** Bytes of replies held back at most before they are sent anyway. */
    static final int HELD_BYTES = 256 * 1024;
    /** Replies larger than this are never copied into the held buffer but written directly. */
    private static final int LARGEST_HELD_REPLY = 64 * 1024;

    private final GatheringByteChannel channel;
    private final ReentrantLock lock = new ReentrantLock();
    /** Scratch space for simple replies, used only under {@link #lock}. */
    private final ByteBuffer simpleReply = ByteBuffer.allocateDirect(TransmissionReplies.SIMPLE_HEADER_SIZE);
    /** Replies not yet sent, in write mode; null unless {@link #holdReplies} was called. */
    private ByteBuffer held;
    /** The thread whose replies are held. */
    private Thread holder;

    ConnectionOutput(GatheringByteChannel channel) {
        this.channel = channel;
    }

    /** From now on {@code reader}'s small replies are held until {@link #flush} or until the buffer is full. */
    void holdReplies(Thread reader) {
        lock.lock();
        try {
            if (held == null) {
                held = PageAlignedBuffer.allocate(HELD_BYTES);
            }
            holder = reader;
        } finally {
            lock.unlock();
        }
    }

    /** Sends a simple reply (no payload) without allocating. */
    void sendSimple(NbdError error, long cookie) throws IOException {
        lock.lock();
        try {
            TransmissionReplies.simple(simpleReply.clear(), error, cookie);
            send(simpleReply.flip());
        } finally {
            lock.unlock();
        }
    }

    /** Sends every remaining byte of {@code buffers}, in order, as one message, consuming them. */
    void send(ByteBuffer... buffers) throws IOException {
        lock.lock();
        try {
            long size = 0;
            for (ByteBuffer buffer : buffers) {
                size += buffer.remaining();
            }
            boolean holdable = held != null && size <= LARGEST_HELD_REPLY && Thread.currentThread() == holder;
            if (holdable && size <= held.remaining()) {
                hold(buffers);
                return;
            }
            if (held == null || held.position() == 0) {
                write(buffers, size);
                return;
            }
            // What is held goes first, in the same system call when the reply is from another thread.
            ByteBuffer[] all = new ByteBuffer[buffers.length + 1];
            all[0] = held.flip();
            System.arraycopy(buffers, 0, all, 1, buffers.length);
            try {
                write(all, held.remaining() + size);
            } finally {
                held.clear();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Sends the replies held so far, if any. */
    void flush() throws IOException {
        lock.lock();
        try {
            sendHeld();
        } finally {
            lock.unlock();
        }
    }

    private void hold(ByteBuffer[] buffers) {
        for (ByteBuffer buffer : buffers) {
            held.put(buffer);
        }
    }

    private void sendHeld() throws IOException {
        if (held == null || held.position() == 0) {
            return;
        }
        held.flip();
        try {
            write(new ByteBuffer[] {held}, held.remaining());
        } finally {
            held.clear();
        }
    }

    private void write(ByteBuffer[] buffers, long size) throws IOException {
        for (long left = size; left > 0; ) {
            left -= channel.write(buffers);
        }
    }
}
