package dev.sprout.nbd;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Decoders for the payloads of NBD_OPT_INFO/GO and NBD_OPT_LIST/SET_META_CONTEXT. A payload that
 * does not parse is the client's error, answered with NBD_REP_ERR_INVALID; negotiation goes on.
 */
public final class OptionPayloads {

    /** Longest export name or query string accepted (proto.md allows servers to limit to 4096). */
    public static final int MAX_STRING = 4096;

    /** The payload of NBD_OPT_INFO or NBD_OPT_GO. */
    public record ExportQuery(String name, List<Integer> infoRequests) {
    }

    /** The payload of NBD_OPT_LIST_META_CONTEXT or NBD_OPT_SET_META_CONTEXT. */
    public record MetaContextQuery(String exportName, List<String> queries) {
    }

    /** A payload that is malformed, with the reason. */
    public static final class MalformedOptionException extends Exception {
        public MalformedOptionException(String message) {
            super(message);
        }
    }

    private OptionPayloads() {
    }

    public static ExportQuery exportQuery(ByteBuffer payload) throws MalformedOptionException {
        String name = string(payload, "export name");
        int count = unsignedShort(payload, "information request count");
        if (payload.remaining() != 2 * count) {
            throw new MalformedOptionException("information request count " + count
                    + " does not match the " + payload.remaining() + " bytes left");
        }
        List<Integer> requests = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            requests.add(Short.toUnsignedInt(payload.getShort()));
        }
        return new ExportQuery(name, requests);
    }

    public static MetaContextQuery metaContextQuery(ByteBuffer payload) throws MalformedOptionException {
        String exportName = string(payload, "export name");
        if (payload.remaining() < 4) {
            throw new MalformedOptionException("query count missing");
        }
        long count = Integer.toUnsignedLong(payload.getInt());
        if (count > payload.remaining() / 4) {
            throw new MalformedOptionException("query count " + count + " exceeds the payload");
        }
        List<String> queries = new ArrayList<>((int) count);
        for (long i = 0; i < count; i++) {
            queries.add(string(payload, "query"));
        }
        if (payload.hasRemaining()) {
            throw new MalformedOptionException(payload.remaining() + " trailing bytes after the queries");
        }
        return new MetaContextQuery(exportName, queries);
    }

    /** A 32-bit length-prefixed UTF-8 string. */
    static String string(ByteBuffer payload, String what) throws MalformedOptionException {
        if (payload.remaining() < 4) {
            throw new MalformedOptionException(what + " length missing");
        }
        long length = Integer.toUnsignedLong(payload.getInt());
        if (length > MAX_STRING) {
            throw new MalformedOptionException(what + " of " + length + " bytes is too long");
        }
        if (length > payload.remaining()) {
            throw new MalformedOptionException(what + " length " + length + " exceeds the payload");
        }
        ByteBuffer bytes = payload.slice(payload.position(), (int) length);
        payload.position(payload.position() + (int) length);
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw new MalformedOptionException(what + " is not valid UTF-8");
        }
    }

    private static int unsignedShort(ByteBuffer payload, String what) throws MalformedOptionException {
        if (payload.remaining() < 2) {
            throw new MalformedOptionException(what + " missing");
        }
        return Short.toUnsignedInt(payload.getShort());
    }
}
