package dev.sprout.nbd;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Encoders for what a client sends during negotiation (proto.md: "Fixed newstyle negotiation"). */
public final class OptionRequests {

    /** Size of an option request header: IHAVEOPT, option, payload length. */
    public static final int HEADER_SIZE = 16;

    private OptionRequests() {
    }

    /** An option with its payload, ready to send. */
    public static ByteBuffer option(OptionType option, ByteBuffer payload) {
        ByteBuffer out = ByteBuffer.allocate(HEADER_SIZE + payload.remaining());
        out.putLong(Magic.IHAVEOPT).putInt(option.wire()).putInt(payload.remaining()).put(payload.duplicate());
        return out.flip();
    }

    /** An option without payload (STRUCTURED_REPLY, ABORT, LIST). */
    public static ByteBuffer option(OptionType option) {
        return option(option, ByteBuffer.allocate(0));
    }

    /** The payload of NBD_OPT_GO or NBD_OPT_INFO: the export name and the information items wanted. */
    public static ByteBuffer exportQuery(String exportName, List<InfoType> wanted) {
        byte[] name = exportName.getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(4 + name.length + 2 + 2 * wanted.size());
        out.putInt(name.length).put(name).putShort((short) wanted.size());
        for (InfoType type : wanted) {
            out.putShort((short) type.wire());
        }
        return out.flip();
    }

    /** The payload of NBD_OPT_SET_META_CONTEXT or NBD_OPT_LIST_META_CONTEXT. */
    public static ByteBuffer metaContextQuery(String exportName, List<String> queries) {
        byte[] name = exportName.getBytes(StandardCharsets.UTF_8);
        List<byte[]> encoded = queries.stream().map(q -> q.getBytes(StandardCharsets.UTF_8)).toList();
        int size = 4 + name.length + 4 + encoded.stream().mapToInt(q -> 4 + q.length).sum();
        ByteBuffer out = ByteBuffer.allocate(size);
        out.putInt(name.length).put(name).putInt(encoded.size());
        for (byte[] query : encoded) {
            out.putInt(query.length).put(query);
        }
        return out.flip();
    }

    /** The payload of NBD_OPT_EXPORT_NAME: the bare name, no length prefix. */
    public static ByteBuffer exportName(String exportName) {
        return ByteBuffer.wrap(exportName.getBytes(StandardCharsets.UTF_8));
    }
}
