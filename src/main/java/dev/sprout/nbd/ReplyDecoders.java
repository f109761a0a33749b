package dev.sprout.nbd;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Decoders for what a server sends: option replies and transmission replies (proto.md: "Option
 * reply types", "Simple reply message", "Structured reply chunk message"). A reply that does not
 * decode is a {@link ProtocolException}: the client must stop reading and close.
 */
public final class ReplyDecoders {

    /** Bytes of an option reply header. */
    public static final int OPTION_REPLY_HEADER_SIZE = 20;
    /** Bytes of a simple reply after its 4-byte magic. */
    public static final int SIMPLE_REST = TransmissionReplies.SIMPLE_HEADER_SIZE - 4;
    /** Bytes of a structured chunk header after its 4-byte magic. */
    public static final int CHUNK_REST = TransmissionReplies.CHUNK_HEADER_SIZE - 4;

    /** The header of an option reply; {@code length} payload bytes follow. */
    public record OptionReply(int option, int type, long length) {
        public boolean is(OptionReplyType expected) {
            return type == expected.wire();
        }

        /** Bit 31 marks an error reply, even one of a type this client does not know. */
        public boolean isError() {
            return type < 0;
        }
    }

    /** A simple reply: an error value (0 for success) and the request's cookie. */
    public record SimpleReply(int error, long cookie) {
    }

    /** A structured reply chunk header; {@code length} payload bytes follow. */
    public record Chunk(boolean done, int type, long cookie, long length) {
    }

    /** The payload of an ERROR or ERROR_OFFSET chunk. */
    public record ErrorPayload(int error, String message) {
    }

    private ReplyDecoders() {
    }

    public static OptionReply optionReply(ByteBuffer header, int expectedOption) throws ProtocolException {
        long magic = header.getLong();
        if (magic != Magic.OPTION_REPLY) {
            throw new ProtocolException(String.format("bad option reply magic 0x%016x", magic));
        }
        int option = header.getInt();
        if (option != expectedOption) {
            throw new ProtocolException("option reply for option " + option + " while waiting for " + expectedOption);
        }
        return new OptionReply(option, header.getInt(), Integer.toUnsignedLong(header.getInt()));
    }

    /** Decodes the 12 bytes after {@link Magic#SIMPLE_REPLY}. */
    public static SimpleReply simple(ByteBuffer rest) {
        return new SimpleReply(rest.getInt(), rest.getLong());
    }

    /** Decodes the 16 bytes after {@link Magic#STRUCTURED_REPLY}. */
    public static Chunk chunk(ByteBuffer rest) throws ProtocolException {
        int flags = Short.toUnsignedInt(rest.getShort());
        int type = Short.toUnsignedInt(rest.getShort());
        long cookie = rest.getLong();
        long length = Integer.toUnsignedLong(rest.getInt());
        if ((flags & ~TransmissionReplies.FLAG_DONE) != 0) {
            throw new ProtocolException(String.format("unknown chunk flags 0x%04x", flags));
        }
        return new Chunk((flags & TransmissionReplies.FLAG_DONE) != 0, type, cookie, length);
    }

    /** Decodes an ERROR or ERROR_OFFSET payload (the offset, if any, is left unread). */
    public static ErrorPayload error(ByteBuffer payload) throws ProtocolException {
        if (payload.remaining() < 6) {
            throw new ProtocolException("error chunk of " + payload.remaining() + " bytes");
        }
        int error = payload.getInt();
        int length = Short.toUnsignedInt(payload.getShort());
        if (length > payload.remaining()) {
            throw new ProtocolException("error message length " + length + " exceeds the chunk");
        }
        byte[] text = new byte[length];
        payload.get(text);
        if (error == 0) {
            throw new ProtocolException("error chunk with error value 0");
        }
        return new ErrorPayload(error, new String(text, StandardCharsets.UTF_8));
    }
}
