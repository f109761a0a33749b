package dev.sprout.server;

import dev.sprout.nbd.NbdError;
import dev.sprout.nbd.TransmissionReplies;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The server-to-client byte stream of one connection. Each call writes one whole message, so
 * replies to concurrent requests never interleave inside a message.
 */
final class ConnectionOutput {

    private final GatheringByteChannel channel;
    private final ReentrantLock lock = new ReentrantLock();
    /** Scratch space for simple replies, used only under {@link #lock}. */
    private final ByteBuffer simpleReply = ByteBuffer.allocateDirect(TransmissionReplies.SIMPLE_HEADER_SIZE);

    ConnectionOutput(GatheringByteChannel channel) {
        this.channel = channel;
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

    /** Writes every remaining byte of {@code buffers}, in order, as one message. */
    void send(ByteBuffer... buffers) throws IOException {
        lock.lock();
        try {
            long left = 0;
            for (ByteBuffer buffer : buffers) {
                left += buffer.remaining();
            }
            while (left > 0) {
                left -= channel.write(buffers);
            }
        } finally {
            lock.unlock();
        }
    }
}
