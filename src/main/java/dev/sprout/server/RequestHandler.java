package dev.sprout.server;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.block.RequestException;
import dev.sprout.block.WriteLease;
import dev.sprout.block.ZeroFlags;
import dev.sprout.nbd.CommandFlag;
import dev.sprout.nbd.NbdError;
import dev.sprout.nbd.Request;
import dev.sprout.nbd.TransmissionReplies;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Carries out one connection's requests on its export's device and sends each reply. Safe to
 * call from many threads at once: it keeps no per-request state.
 */
final class RequestHandler {

    private final Session session;
    private final BlockDevice device;
    private final RequestCheck check;
    private final ConnectionOutput out;
    private final BufferPool pool;
    private final String who;

    RequestHandler(Session session, ConnectionOutput out, BufferPool pool, String who) {
        this.session = session;
        this.device = session.export().device();
        this.check = new RequestCheck(session);
        this.out = out;
        this.pool = pool;
        this.who = who;
    }

    /** Whether a WRITE's payload should be skipped rather than read into memory. */
    boolean payloadTooLarge(Request request) {
        return check.payloadTooLarge(request);
    }

    /**
     * Runs {@code request} and sends its reply. {@code payload} holds a WRITE's data; it stays the
     * caller's, and is consumed only during this call.
     *
     * @throws IOException only when the reply cannot be sent: the connection is broken
     */
    void handle(Request request, ByteBuffer payload) throws IOException {
        try {
            check.check(request);
            switch (request) {
                case Request.Read r -> {
                    read(r, false);
                    return;
                }
                case Request.BlockStatus b -> {
                    blockStatus(b);
                    return;
                }
                case Request.Write w -> device.write(w.offset(), payload, w.has(CommandFlag.FUA));
                case Request.Flush f -> device.flush();
                case Request.Trim t -> device.trim(t.offset(), t.length(), t.has(CommandFlag.FUA));
                case Request.WriteZeroes z -> device.zero(z.offset(), z.length(), new ZeroFlags(
                        z.has(CommandFlag.NO_HOLE), z.has(CommandFlag.FAST_ZERO), z.has(CommandFlag.FUA)));
                case Request.Cache c -> device.cache(c.offset(), c.length());
                case Request.Disconnect d -> throw new IllegalStateException("DISC is handled by the reader");
                case Request.Unknown u -> throw new IllegalStateException("rejected by the check");
            }
        } catch (ReplyFailure broken) {
            throw broken.getCause();
        } catch (Exception failure) {
            fail(request, failure);
            return;
        }
        sendSimple(request, null);
    }

    /**
     * Runs a READ or WRITE at once if the device can do it without waiting, sends its reply and
     * returns true; returns false, having done nothing, when the device would have to wait (the
     * caller then runs {@link #handle} where waiting is fine). Invalid requests are answered.
     *
     * @throws IOException only when the reply cannot be sent: the connection is broken
     */
    boolean handleIfReady(Request request, ByteBuffer payload) throws IOException {
        if (!(request instanceof Request.Read) && !(request instanceof Request.Write)) {
            return false;
        }
        try {
            check.check(request);
            switch (request) {
                case Request.Read r -> {
                    return read(r, true);
                }
                case Request.Write w -> {
                    if (!device.writeIfReady(w.offset(), payload, w.has(CommandFlag.FUA))) {
                        return false;
                    }
                }
                default -> throw new IllegalStateException("only READ and WRITE get here");
            }
        } catch (ReplyFailure broken) {
            throw broken.getCause();
        } catch (Exception failure) {
            fail(request, failure);
            return true;
        }
        sendSimple(request, null);
        return true;
    }

    /**
     * Buffers the device lends for a WRITE's payload (see {@link BlockDevice#leaseWrite}), or null
     * when it lends none or the request is invalid: the caller then reads the payload into a
     * buffer of its own and calls {@link #handle}, which answers an invalid request.
     */
    WriteLease lease(Request.Write write) {
        // Asked first: most devices lend nothing, and their writes are checked once, by handle.
        WriteLease lease = device.leaseWrite(write.offset(), (int) write.length());
        if (lease != null) {
            try {
                check.check(write);
            } catch (RequestException invalid) {
                lease.release();
                return null;
            }
        }
        return lease;
    }

    /**
     * Commits a WRITE whose payload was read into the device's lent buffers, and sends its reply.
     *
     * @throws IOException only when the reply cannot be sent: the connection is broken
     */
    void handleLeased(Request.Write write, WriteLease lease) throws IOException {
        try {
            lease.commit(write.has(CommandFlag.FUA));
        } catch (Exception failure) {
            fail(write, failure);
            return;
        }
        sendSimple(write, null);
    }

    /** Answers {@code request} with an error without running it (shutdown, oversized payload). */
    void refuse(Request request, Exception failure) throws IOException {
        fail(request, failure);
    }

    private void fail(Request request, Throwable failure) throws IOException {
        NbdError error = ReplyErrors.report(describe(request), failure);
        boolean structured = session.structuredReplies()
                && (request instanceof Request.Read || request instanceof Request.BlockStatus);
        if (structured) {
            String message = ReplyErrors.message(failure);
            ByteBuffer reply = ByteBuffer.allocate(TransmissionReplies.errorChunkSize(message));
            TransmissionReplies.error(reply, request.cookie(), error, message);
            out.send(reply.flip());
        } else {
            sendSimple(request, error);
        }
    }

    private void sendSimple(Request request, NbdError error) throws IOException {
        out.sendSimple(error, request.cookie());
    }

    /**
     * Reads and replies; with {@code ifReady}, only if the device can read without waiting
     * (returns false, having sent nothing, otherwise). A failure to send is a {@link ReplyFailure}.
     */
    private boolean read(Request.Read r, boolean ifReady) throws IOException {
        int length = (int) r.length();
        boolean structured = session.structuredReplies();
        if (structured && !r.has(CommandFlag.DF) && length >= SparseRead.MIN_LENGTH) {
            ByteBuffer data = pool.take(length);
            try {
                if (!fill(r.offset(), data.duplicate(), ifReady)) {
                    return false;
                }
                send(SparseRead.chunks(r, data));
            } finally {
                pool.give(data);
            }
            return true;
        }
        // One buffer holds the header and the data, so the reply is one write of one buffer.
        int headerSize = structured ? TransmissionReplies.CHUNK_HEADER_SIZE + 8 : TransmissionReplies.SIMPLE_HEADER_SIZE;
        ByteBuffer reply = pool.take(headerSize + length);
        try {
            if (!fill(r.offset(), reply.slice(headerSize, length), ifReady)) {
                return false;
            }
            if (structured) {
                TransmissionReplies.offsetDataHeader(reply, true, r.cookie(), r.offset(), length);
            } else {
                TransmissionReplies.simple(reply, null, r.cookie());
            }
            send(reply.position(0));
        } finally {
            pool.give(reply);
        }
        return true;
    }

    private boolean fill(long offset, ByteBuffer dst, boolean ifReady) throws IOException {
        if (ifReady) {
            return device.readIfReady(offset, dst);
        }
        device.read(offset, dst);
        return true;
    }

    /** Sends a reply; a failure is wrapped so that it is not mistaken for the device's. */
    private void send(ByteBuffer... reply) throws ReplyFailure {
        try {
            out.send(reply);
        } catch (IOException e) {
            throw new ReplyFailure(e);
        }
    }

    /** The connection broke while a reply was being sent. */
    static final class ReplyFailure extends IOException {
        ReplyFailure(IOException cause) {
            super(cause.getMessage(), cause);
        }

        @Override
        public synchronized IOException getCause() {
            return (IOException) super.getCause();
        }
    }

    private void blockStatus(Request.BlockStatus b) throws IOException {
        List<Extent> extents = ExtentWalk.collect(device, b.offset(), b.length(),
                b.has(CommandFlag.REQ_ONE) ? 1 : ExtentWalk.MAX_DESCRIPTORS);
        ByteBuffer reply = ByteBuffer.allocate(TransmissionReplies.CHUNK_HEADER_SIZE + 4 + 8 * extents.size());
        TransmissionReplies.blockStatusHeader(reply, true, b.cookie(), session.allocationContext(), extents.size());
        for (Extent extent : extents) {
            int state = (extent.hole() ? TransmissionReplies.STATE_HOLE : 0)
                    | (extent.zero() ? TransmissionReplies.STATE_ZERO : 0);
            TransmissionReplies.blockStatusDescriptor(reply, (int) extent.length(), state);
        }
        out.send(reply.flip());
    }

    private String describe(Request request) {
        return who + " " + Request.name(request) + " " + request.offset() + "+" + request.length();
    }
}
