package dev.sprout.nbd;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/** Builds big-endian byte fixtures field by field, malformed ones included. */
public final class WireBytes {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    public WireBytes u8(int value) {
        out.write(value);
        return this;
    }

    public WireBytes u16(int value) {
        return u8(value >>> 8).u8(value);
    }

    public WireBytes u32(long value) {
        return u16((int) (value >>> 16)).u16((int) value);
    }

    public WireBytes u64(long value) {
        return u32(value >>> 32).u32(value);
    }

    public WireBytes raw(byte[] bytes) {
        out.writeBytes(bytes);
        return this;
    }

    /** {@code length} bytes of {@code bytes} from {@code offset}: a cut-off message. */
    public WireBytes raw(byte[] bytes, int offset, int length) {
        out.write(bytes, offset, length);
        return this;
    }

    public WireBytes hex(String hex) {
        return raw(HexFormat.of().parseHex(hex));
    }

    /** UTF-8 bytes with no length prefix. */
    public WireBytes utf8(String text) {
        return raw(text.getBytes(StandardCharsets.UTF_8));
    }

    /** A string as NBD payloads carry it: a 32-bit length, then UTF-8 bytes. */
    public WireBytes string(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return u32(bytes.length).raw(bytes);
    }

    public byte[] bytes() {
        return out.toByteArray();
    }

    public ByteBuffer buffer() {
        return ByteBuffer.wrap(bytes());
    }

    /** The payload of NBD_OPT_INFO or NBD_OPT_GO. */
    public static byte[] exportQuery(String name, int... infoRequests) {
        WireBytes bytes = new WireBytes().string(name).u16(infoRequests.length);
        for (int request : infoRequests) {
            bytes.u16(request);
        }
        return bytes.bytes();
    }

    /** The payload of NBD_OPT_LIST_META_CONTEXT or NBD_OPT_SET_META_CONTEXT. */
    public static byte[] metaContextQuery(String exportName, String... queries) {
        WireBytes bytes = new WireBytes().string(exportName).u32(queries.length);
        for (String query : queries) {
            bytes.string(query);
        }
        return bytes.bytes();
    }

    /** The remaining bytes of {@code buffer}, leaving its position alone. */
    public static byte[] remaining(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        return bytes;
    }
}
