package dev.sprout.nbd;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Encoders for option haggling replies (proto.md: "Option reply types"). */
public final class OptionReplies {

    public static final int HEADER_SIZE = 20;

    private OptionReplies() {
    }

    /** An option reply with no payload, or the header of one whose payload follows. */
    public static ByteBuffer header(int option, OptionReplyType type, int length) {
        ByteBuffer out = ByteBuffer.allocate(HEADER_SIZE + length);
        out.putLong(Magic.OPTION_REPLY).putInt(option).putInt(type.wire()).putInt(length);
        return out;
    }

    public static ByteBuffer ack(int option) {
        return header(option, OptionReplyType.ACK, 0).flip();
    }

    /** An error reply with a human-readable message. */
    public static ByteBuffer error(int option, OptionReplyType type, String message) {
        byte[] text = Utf8.truncate(message, OptionPayloads.MAX_STRING);
        return header(option, type, text.length).put(text).flip();
    }

    /** NBD_REP_SERVER for NBD_OPT_LIST: the export name, then its description. */
    public static ByteBuffer server(int option, String name, String description) {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        byte[] details = description.getBytes(StandardCharsets.UTF_8);
        return header(option, OptionReplyType.SERVER, 4 + nameBytes.length + details.length)
                .putInt(nameBytes.length).put(nameBytes).put(details).flip();
    }

    /** NBD_REP_INFO with NBD_INFO_EXPORT: size and transmission flags. */
    public static ByteBuffer infoExport(int option, long size, short transmissionFlags) {
        return header(option, OptionReplyType.INFO, 12)
                .putShort((short) InfoType.EXPORT.wire()).putLong(size).putShort(transmissionFlags).flip();
    }

    /** NBD_REP_INFO carrying a string: NBD_INFO_NAME or NBD_INFO_DESCRIPTION. */
    public static ByteBuffer infoText(int option, InfoType type, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return header(option, OptionReplyType.INFO, 2 + bytes.length)
                .putShort((short) type.wire()).put(bytes).flip();
    }

    public static ByteBuffer infoBlockSize(int option, int minimum, int preferred, int maximum) {
        return header(option, OptionReplyType.INFO, 14).putShort((short) InfoType.BLOCK_SIZE.wire())
                .putInt(minimum).putInt(preferred).putInt(maximum).flip();
    }

    /** NBD_REP_META_CONTEXT: a context id and its name. */
    public static ByteBuffer metaContext(int option, int contextId, String name) {
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        return header(option, OptionReplyType.META_CONTEXT, 4 + bytes.length)
                .putInt(contextId).put(bytes).flip();
    }

    /** The reply to NBD_OPT_EXPORT_NAME: size, flags, and 124 zero bytes unless NO_ZEROES. */
    public static ByteBuffer exportNameReply(long size, short transmissionFlags, boolean noZeroes) {
        ByteBuffer out = ByteBuffer.allocate(10 + (noZeroes ? 0 : 124));
        out.putLong(size).putShort(transmissionFlags);
        return out.position(out.capacity()).flip();
    }
}
