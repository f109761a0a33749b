package dev.sprout.server;

import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.RequestContext;
import dev.sprout.block.RequestException;
import dev.sprout.block.WriteLease;
import dev.sprout.nbd.ProtocolException;
import dev.sprout.nbd.Request;

import java.io.EOFException;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;

/**
 * One client from handshake to close. A reader thread decodes requests; each runs on its own
 * virtual thread and replies as soon as it finishes, so a client's pipeline stays full. After
 * DISC or end of input, requests in flight still complete and send their replies.
 */
final class Connection implements Runnable {

    private static final System.Logger LOG = System.getLogger(Connection.class.getName());

    /** Requests running at once per connection; the reader waits when this many are in flight. */
    static final int MAX_IN_FLIGHT = 128;

    private final Link link;
    private final ExportTable exports;
    private final BufferPool pool;
    private final long id;
    private final String who;
    private final Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT);
    private volatile boolean shuttingDown;

    Connection(Link link, ExportTable exports, BufferPool pool, long id) {
        this.link = link;
        this.exports = exports;
        this.pool = pool;
        this.id = id;
        this.who = "conn " + id;
    }

    @Override
    public void run() {
        LOG.log(Level.DEBUG, "{0}: connected from {1}", who, link.peer());
        ConnectionInput in = new ConnectionInput(link.in());
        ConnectionOutput out = new ConnectionOutput(link.out());
        try {
            Optional<Session> session = new Negotiation(in, out, exports, who).run();
            if (session.isPresent()) {
                LOG.log(Level.DEBUG, "{0}: serving {1}", who, session.get().export().device());
                transmit(session.get(), in, out);
            }
        } catch (ProtocolException e) {
            LOG.log(Level.WARNING, "{0}: closing: {1}", who, e.getMessage());
        } catch (EOFException e) {
            LOG.log(Level.WARNING, "{0}: closing: {1}", who, e.getMessage());
        } catch (IOException e) {
            LOG.log(shuttingDown ? Level.DEBUG : Level.WARNING, "{0}: closing: {1}", who, e.toString());
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, who + ": closing after an unexpected failure", e);
        } finally {
            awaitInFlight();
            flushQuietly(out);
            closeQuietly();
        }
    }

    /**
     * Stops reading new requests: the reader sees end of input, requests in flight finish, and
     * requests read but not started are refused with ESHUTDOWN.
     */
    void shutdown() {
        shuttingDown = true;
        try {
            link.shutdownInput();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "{0}: shutdown: {1}", who, e.toString());
        }
    }

    private void transmit(Session session, ConnectionInput in, ConnectionOutput out) throws IOException {
        RequestHandler handler = new RequestHandler(session, out, pool, who);
        boolean inline = session.export().device().nonBlocking();
        out.holdReplies(Thread.currentThread());
        ThreadFactory requestThreads = Thread.ofVirtual().name(who + " request").factory();
        while (true) {
            if (!in.hasBuffered(Request.HEADER_SIZE)) {
                out.flush(); // the client may be waiting for these before it sends more
            }
            ByteBuffer header = in.next(Request.HEADER_SIZE);
            if (header == null) {
                LOG.log(Level.DEBUG, "{0}: end of input", who);
                return;
            }
            Request request = Request.decode(header);
            if (request instanceof Request.Disconnect) {
                LOG.log(Level.DEBUG, "{0}: disconnect requested", who);
                return;
            }
            if (request instanceof Request.Write && handler.payloadTooLarge(request)) {
                in.skip(request.length(), "oversized write payload");
                handler.refuse(request, new RequestException(Errno.EINVAL,
                        "write of " + request.length() + " bytes exceeds the maximum"));
                continue;
            }
            if (shuttingDown) {
                if (request instanceof Request.Write) {
                    in.skip(request.length(), "write payload");
                }
                handler.refuse(request, new DeviceException(Errno.ESHUTDOWN, "server is shutting down"));
                continue;
            }
            // A large WRITE runs on its own thread even when the device would not wait: copying it
            // into the device then overlaps with receiving the next request. Unless the device lends
            // buffers for it: then it is read straight into them and committed here, with no copy.
            boolean large = request instanceof Request.Write && request.length() > ConnectionInput.BUFFER_SIZE;
            WriteLease lease = large ? handler.lease((Request.Write) request) : null;
            if (lease != null) {
                runLeased(handler, (Request.Write) request, lease, in);
            } else if (inline && !large) {
                runInline(handler, request, in, out);
            } else {
                ByteBuffer payload = readPayload(request, in);
                if (!large && answeredAtOnce(handler, request, payload)) {
                    releaseQuietly(payload);
                    continue;
                }
                inFlight.acquireUninterruptibly();
                requestThreads.newThread(() -> runConcurrently(handler, request, payload)).start();
            }
        }
    }

    /**
     * Runs a request on the reader thread (the device never waits). A WRITE's payload, which fits
     * the input buffer here, is handed to the device where it lies, without a copy.
     */
    private void runInline(RequestHandler handler, Request request, ConnectionInput in, ConnectionOutput out)
            throws IOException {
        if (!(request instanceof Request.Write)) {
            run(handler, request, null);
            return;
        }
        int length = (int) request.length();
        if (!in.hasBuffered(length)) {
            out.flush();
        }
        run(handler, request, in.require(length, "write payload"));
    }

    /**
     * Runs a WRITE on the reader thread with its payload read straight into the buffers the device
     * lent, which it then takes as they are: no copy of the payload, and no hand-off.
     */
    private void runLeased(RequestHandler handler, Request.Write write, WriteLease lease, ConnectionInput in)
            throws IOException {
        try {
            in.readFully(lease.buffers(), "write payload");
        } catch (IOException e) {
            lease.release();
            throw e;
        }
        run(write, () -> handler.handleLeased(write, lease));
    }

    /** Whether the device could run {@code request} without waiting, and did, on this thread. */
    private boolean answeredAtOnce(RequestHandler handler, Request request, ByteBuffer payload) throws IOException {
        return context(request).call(() -> handler.handleIfReady(request, payload));
    }

    private void runConcurrently(RequestHandler handler, Request request, ByteBuffer payload) {
        try {
            run(handler, request, payload);
        } finally {
            releaseQuietly(payload);
            inFlight.release();
        }
    }

    /** Runs one request; a reply that cannot be sent ends the connection. */
    private void run(RequestHandler handler, Request request, ByteBuffer payload) {
        run(request, () -> handler.handle(request, payload));
    }

    /** One step of a request that sends its reply. */
    private interface ReplyingStep {
        void run() throws IOException;
    }

    /** Runs {@code step} with the request's context bound; a reply that cannot be sent ends the connection. */
    private void run(Request request, ReplyingStep step) {
        try {
            context(request).call(() -> {
                step.run();
                return null;
            });
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "{0}: reply failed: {1}", who, e.toString());
            shutdownQuietly();
        }
    }

    /** Binds who is asking, for the layers (the log names the connection and cookie). */
    private ScopedValue.Carrier context(Request request) {
        return ScopedValue.where(RequestContext.CURRENT, new RequestContext(id, request.cookie()));
    }

    /** A WRITE's payload in a pooled buffer; null for other requests. */
    private ByteBuffer readPayload(Request request, ConnectionInput in) throws IOException {
        if (!(request instanceof Request.Write)) {
            return null;
        }
        ByteBuffer payload = pool.take((int) request.length());
        in.readFully(payload, "write payload");
        return payload.flip();
    }

    private void releaseQuietly(ByteBuffer payload) {
        if (payload != null) {
            pool.give(payload);
        }
    }

    private void flushQuietly(ConnectionOutput out) {
        try {
            out.flush();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "{0}: last replies not sent: {1}", who, e.toString());
        }
    }

    private void shutdownQuietly() {
        try {
            link.shutdownInput();
        } catch (IOException ignored) {
            // already closed: the reader stops either way
        }
    }

    private void closeQuietly() {
        try {
            link.close();
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "{0}: close: {1}", who, e.toString());
        }
        LOG.log(Level.DEBUG, "{0}: closed", who);
    }

    private void awaitInFlight() {
        inFlight.acquireUninterruptibly(MAX_IN_FLIGHT);
        inFlight.release(MAX_IN_FLIGHT);
    }
}
