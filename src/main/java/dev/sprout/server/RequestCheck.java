package dev.sprout.server;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Capabilities;
import dev.sprout.block.Errno;
import dev.sprout.block.Ranges;
import dev.sprout.block.RequestException;
import dev.sprout.nbd.CommandFlag;
import dev.sprout.nbd.Request;

/**
 * Decides whether a request may run at all, before any device sees it, with the errors
 * proto.md names: unknown commands and flags and empty or oversized lengths are EINVAL, writes
 * to a read-only export EPERM, writes past the end ENOSPC, other ranges past the end EINVAL.
 */
final class RequestCheck {

    private final Session session;
    private final long size;
    private final Capabilities caps;

    RequestCheck(Session session) {
        this.session = session;
        BlockDevice device = session.export().device();
        this.size = device.size();
        this.caps = device.capabilities();
    }

    void check(Request request) throws RequestException {
        if (request instanceof Request.Unknown unknown) {
            throw invalid("unknown command " + unknown.type());
        }
        int unexpected = request.flags() & ~request.allowedFlags();
        if (unexpected != 0) {
            throw invalid(String.format("flags 0x%x not valid for %s", unexpected, Request.name(request)));
        }
        switch (request) {
            case Request.Read r -> {
                if (r.has(CommandFlag.DF) && !session.structuredReplies()) {
                    throw invalid("DF without structured replies");
                }
                payload(r);
                range(r, Errno.EINVAL);
            }
            case Request.Write w -> {
                writable(w);
                payload(w);
                range(w, Errno.ENOSPC);
            }
            case Request.Trim t -> {
                writable(t);
                range(t, Errno.EINVAL);
            }
            case Request.WriteZeroes z -> {
                writable(z);
                if (z.has(CommandFlag.FAST_ZERO) && !caps.fastZero()) {
                    throw invalid("FAST_ZERO was not offered");
                }
                range(z, Errno.ENOSPC);
            }
            case Request.Cache c -> range(c, Errno.EINVAL);
            case Request.BlockStatus b -> {
                if (!session.blockStatus()) {
                    throw invalid("BLOCK_STATUS without a negotiated metadata context");
                }
                range(b, Errno.EINVAL);
            }
            case Request.Flush f -> {
                // offset and length carry no meaning for FLUSH
            }
            case Request.Disconnect d -> {
            }
            case Request.Unknown u -> throw invalid("unknown command " + u.type());
        }
    }

    /** Whether {@code request} is a WRITE whose payload is too large to accept. */
    boolean payloadTooLarge(Request request) {
        return request.length() > caps.blockSizes().maximum();
    }

    private void payload(Request request) throws RequestException {
        if (payloadTooLarge(request)) {
            throw invalid("length " + request.length() + " exceeds the maximum "
                    + caps.blockSizes().maximum());
        }
    }

    private void writable(Request request) throws RequestException {
        if (!caps.writable()) {
            throw RequestException.readOnly(Request.name(request), session.export().device());
        }
    }

    private void range(Request request, Errno errno) throws RequestException {
        if (request.length() == 0) {
            throw invalid(Request.name(request) + " of length 0");
        }
        Ranges.check(request.offset(), request.length(), size, errno);
    }

    private static RequestException invalid(String message) {
        return new RequestException(Errno.EINVAL, message);
    }
}
