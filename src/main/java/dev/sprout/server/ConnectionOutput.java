package dev.sprout.server;

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

    ConnectionOutput(GatheringByteChannel channel) {
        this.channel = channel;
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
