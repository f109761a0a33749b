package dev.sprout.nbd;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Encoders for transmission-phase replies: simple replies and structured reply chunks
 * (proto.md: "Simple reply message", "Structured reply chunk message").
 */
public final class TransmissionReplies {

    public static final int SIMPLE_HEADER_SIZE = 16;
    public static final int CHUNK_HEADER_SIZE = 20;
    /** Flag of the last chunk of a structured reply. */
    public static final int FLAG_DONE = 1;
    /** qemu drops the connection on non-data chunks over 1000 bytes: keep error text well below. */
    public static final int MAX_ERROR_MESSAGE = 200;
    /** base:allocation status bits. */
    public static final int STATE_HOLE = 1;
    public static final int STATE_ZERO = 2;

    private TransmissionReplies() {
    }

    public static void simple(ByteBuffer out, NbdError error, long cookie) {
        out.putInt(Magic.SIMPLE_REPLY).putInt(error == null ? 0 : error.wire()).putLong(cookie);
    }

    public static void chunkHeader(ByteBuffer out, boolean done, ReplyType type, long cookie, int length) {
        out.putInt(Magic.STRUCTURED_REPLY).putShort((short) (done ? FLAG_DONE : 0))
                .putShort((short) type.wire()).putLong(cookie).putInt(length);
    }

    /** The header of an OFFSET_DATA chunk; {@code dataLength} bytes of data must follow. */
    public static void offsetDataHeader(ByteBuffer out, boolean done, long cookie, long offset, int dataLength) {
        chunkHeader(out, done, ReplyType.OFFSET_DATA, cookie, 8 + dataLength);
        out.putLong(offset);
    }

    public static void offsetHole(ByteBuffer out, boolean done, long cookie, long offset, int holeLength) {
        chunkHeader(out, done, ReplyType.OFFSET_HOLE, cookie, 12);
        out.putLong(offset).putInt(holeLength);
    }

    public static void none(ByteBuffer out, long cookie) {
        chunkHeader(out, true, ReplyType.NONE, cookie, 0);
    }

    /** Bytes an error chunk takes for a message (after truncation). */
    public static int errorChunkSize(String message) {
        return CHUNK_HEADER_SIZE + 6 + truncate(message).length;
    }

    /** A final ERROR chunk with a short human-readable message. */
    public static void error(ByteBuffer out, long cookie, NbdError error, String message) {
        byte[] text = truncate(message);
        chunkHeader(out, true, ReplyType.ERROR, cookie, 6 + text.length);
        out.putInt(error.wire()).putShort((short) text.length).put(text);
    }

    /** The header of a BLOCK_STATUS chunk carrying {@code descriptors} descriptors. */
    public static void blockStatusHeader(ByteBuffer out, boolean done, long cookie, int contextId, int descriptors) {
        chunkHeader(out, done, ReplyType.BLOCK_STATUS, cookie, 4 + 8 * descriptors);
        out.putInt(contextId);
    }

    public static void blockStatusDescriptor(ByteBuffer out, int length, int status) {
        out.putInt(length).putInt(status);
    }

    private static byte[] truncate(String message) {
        return Utf8.truncate(message, MAX_ERROR_MESSAGE);
    }
}
