package dev.sprout.client;

import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * How long connecting and the handshake may take before the connection is closed under them. A
 * server that accepts and never answers, a port that speaks another protocol and waits for its
 * client to talk first (an HTTP server, say), or a host that drops the connection request would
 * otherwise leave the client waiting forever. A thread of its own waits out the limit and closes
 * the {@linkplain #watch watched} socket, which ends the blocked read or connect with an error
 * that {@link #reason} explains.
 */
final class HandshakeDeadline implements AutoCloseable {

    /**
     * Generous: a server may open its image lazily (nbdkit plugins reaching a remote host, say),
     * and a TCP connection request that goes unanswered takes the kernel over two minutes to give up.
     */
    static final Duration LIMIT = Duration.ofSeconds(60);

    private final Duration limit;
    private final CountDownLatch over = new CountDownLatch(1);
    /** Guarded by this. */
    private Closeable watched;
    private boolean finished;
    private boolean expired;

    private HandshakeDeadline(Duration limit) {
        this.limit = limit;
    }

    static HandshakeDeadline start(Duration limit) {
        HandshakeDeadline deadline = new HandshakeDeadline(limit);
        Thread.ofPlatform().daemon().name("nbd-handshake-deadline").start(deadline::waitOut);
        return deadline;
    }

    private void waitOut() {
        try {
            if (over.await(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                return;
            }
        } catch (InterruptedException e) {
            return;
        }
        Closeable socket;
        synchronized (this) {
            if (finished) {
                return;
            }
            expired = true;
            socket = watched;
        }
        closeQuietly(socket);
    }

    /** The socket to close when the limit passes; closed at once when it has passed already. */
    void watch(Closeable socket) {
        boolean late;
        synchronized (this) {
            watched = socket;
            late = expired;
        }
        if (late) {
            closeQuietly(socket);
        }
    }

    /** The handshake is done: false when the limit passed first and the socket is closed. */
    synchronized boolean finish() {
        finished = !expired;
        over.countDown();
        return finished;
    }

    /** Why connecting or the handshake failed: the limit, when it passed, else {@code failure}'s message. */
    synchronized String reason(Exception failure) {
        return expired ? "no answer in " + limit.toSeconds() + " s (is it an NBD server?)" : failure.getMessage();
    }

    private static void closeQuietly(Closeable socket) {
        if (socket == null) {
            return;
        }
        try {
            socket.close();
        } catch (IOException e) {
            // closing is all that is left to do
        }
    }

    @Override
    public void close() {
        over.countDown();
    }
}
