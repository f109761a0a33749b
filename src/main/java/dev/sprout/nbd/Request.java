package dev.sprout.nbd;

import java.nio.ByteBuffer;

/**
 * A transmission-phase request, decoded from its 28-byte header (proto.md: "Request message").
 * The payload of a {@link Write} follows the header on the wire and is read by the caller.
 */
public sealed interface Request {

    /** Size of the request header on the wire. */
    int HEADER_SIZE = 28;

    /** The client's opaque handle, echoed in the reply. */
    long cookie();

    /** The raw command flags (see {@link CommandFlag}). */
    int flags();

    long offset();

    /** Unsigned 32-bit length, widened. */
    long length();

    /** The flags valid for this command; any other bit is answered with EINVAL. */
    int allowedFlags();

    /** Whether the request has the given flag. */
    default boolean has(CommandFlag flag) {
        return flag.in(flags());
    }

    record Read(long cookie, int flags, long offset, long length) implements Request {
        public int allowedFlags() {
            return CommandFlag.mask(CommandFlag.FUA, CommandFlag.DF);
        }
    }

    record Write(long cookie, int flags, long offset, long length) implements Request {
        public int allowedFlags() {
            return CommandFlag.mask(CommandFlag.FUA);
        }
    }

    record Disconnect(long cookie, int flags, long offset, long length) implements Request {
        public int allowedFlags() {
            return CommandFlag.mask(CommandFlag.FUA);
        }
    }

    record Flush(long cookie, int flags, long offset, long length) implements Request {
        public int allowedFlags() {
            return CommandFlag.mask(CommandFlag.FUA);
        }
    }

    record Trim(long cookie, int flags, long offset, long length) implements Request {
        public int allowedFlags() {
            return CommandFlag.mask(CommandFlag.FUA);
        }
    }

    record Cache(long cookie, int flags, long offset, long length) implements Request {
        public int allowedFlags() {
            return CommandFlag.mask(CommandFlag.FUA);
        }
    }

    record WriteZeroes(long cookie, int flags, long offset, long length) implements Request {
        public int allowedFlags() {
            return CommandFlag.mask(CommandFlag.FUA, CommandFlag.NO_HOLE, CommandFlag.FAST_ZERO);
        }
    }

    record BlockStatus(long cookie, int flags, long offset, long length) implements Request {
        public int allowedFlags() {
            return CommandFlag.mask(CommandFlag.FUA, CommandFlag.REQ_ONE);
        }
    }

    /** A command type this server does not know; answered with EINVAL. */
    record Unknown(int type, long cookie, int flags, long offset, long length) implements Request {
        public int allowedFlags() {
            return 0;
        }
    }

    /**
     * Decodes the header at the buffer's position, consuming {@link #HEADER_SIZE} bytes.
     *
     * @throws ProtocolException if the magic is wrong: the stream has lost its framing
     */
    static Request decode(ByteBuffer header) throws ProtocolException {
        int magic = header.getInt();
        if (magic != Magic.REQUEST) {
            throw new ProtocolException(String.format("bad request magic 0x%08x", magic));
        }
        int flags = Short.toUnsignedInt(header.getShort());
        int type = Short.toUnsignedInt(header.getShort());
        long cookie = header.getLong();
        long offset = header.getLong();
        long length = Integer.toUnsignedLong(header.getInt());
        return switch (type) {
            case 0 -> new Read(cookie, flags, offset, length);
            case 1 -> new Write(cookie, flags, offset, length);
            case 2 -> new Disconnect(cookie, flags, offset, length);
            case 3 -> new Flush(cookie, flags, offset, length);
            case 4 -> new Trim(cookie, flags, offset, length);
            case 5 -> new Cache(cookie, flags, offset, length);
            case 6 -> new WriteZeroes(cookie, flags, offset, length);
            case 7 -> new BlockStatus(cookie, flags, offset, length);
            default -> new Unknown(type, cookie, flags, offset, length);
        };
    }

    /** Encodes a request header (used by clients and tests). */
    static void encode(ByteBuffer out, int type, int flags, long cookie, long offset, long length) {
        out.putInt(Magic.REQUEST).putShort((short) flags).putShort((short) type)
                .putLong(cookie).putLong(offset).putInt((int) length);
    }

    /** The command name for logs, e.g. "READ". */
    static String name(Request request) {
        return switch (request) {
            case Read r -> "READ";
            case Write w -> "WRITE";
            case Disconnect d -> "DISC";
            case Flush f -> "FLUSH";
            case Trim t -> "TRIM";
            case Cache c -> "CACHE";
            case WriteZeroes z -> "WRITE_ZEROES";
            case BlockStatus b -> "BLOCK_STATUS";
            case Unknown u -> "UNKNOWN(" + u.type() + ")";
        };
    }
}
