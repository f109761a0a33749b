package dev.sprout.server;

import dev.sprout.block.BlockSizes;
import dev.sprout.block.Capabilities;
import dev.sprout.nbd.HandshakeFlag;
import dev.sprout.nbd.InfoType;
import dev.sprout.nbd.Magic;
import dev.sprout.nbd.OptionPayloads;
import dev.sprout.nbd.OptionPayloads.MalformedOptionException;
import dev.sprout.nbd.OptionReplies;
import dev.sprout.nbd.OptionReplyType;
import dev.sprout.nbd.OptionType;
import dev.sprout.nbd.ProtocolException;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/**
 * The handshake and option haggling of one connection (proto.md: "Fixed newstyle negotiation").
 * A malformed option is answered with an error and haggling goes on; a broken frame or an
 * unknown export in NBD_OPT_EXPORT_NAME ends the connection.
 */
final class Negotiation {

    private static final System.Logger LOG = System.getLogger(Negotiation.class.getName());

    /** The one metadata context served, and the id it is given. */
    static final String BASE_ALLOCATION = "base:allocation";
    static final int BASE_ALLOCATION_ID = 1;

    /** Option payloads above this are refused with ERR_TOO_BIG; far above it, the client is cut off. */
    private static final int MAX_OPTION_PAYLOAD = 64 * 1024;
    private static final long MAX_SKIPPED_PAYLOAD = 32L << 20;

    private final ConnectionInput in;
    private final ConnectionOutput out;
    private final ExportTable exports;
    private final String who;

    private boolean noZeroes;
    private boolean structuredReplies;
    /** Export named in the last successful SET_META_CONTEXT, or null. */
    private String metaContextExport;

    Negotiation(ConnectionInput in, ConnectionOutput out, ExportTable exports, String who) {
        this.in = in;
        this.out = out;
        this.exports = exports;
        this.who = who;
    }

    /** Runs the handshake; empty when the client aborted or left before choosing an export. */
    Optional<Session> run() throws IOException {
        int handshakeFlags = HandshakeFlag.FIXED_NEWSTYLE.bit() | HandshakeFlag.NO_ZEROES.bit();
        out.send(ByteBuffer.allocate(18).putLong(Magic.NBDMAGIC).putLong(Magic.IHAVEOPT)
                .putShort((short) handshakeFlags).flip());
        ByteBuffer clientFlags = in.next(4);
        if (clientFlags == null) {
            LOG.log(Level.DEBUG, "{0}: closed before sending client flags", who);
            return Optional.empty();
        }
        int flags = clientFlags.getInt();
        if ((flags & ~HandshakeFlag.KNOWN_CLIENT_FLAGS) != 0) {
            throw new ProtocolException(String.format("unknown client flags 0x%08x", flags));
        }
        noZeroes = HandshakeFlag.NO_ZEROES.in(flags);
        while (true) {
            ByteBuffer header = in.next(16);
            if (header == null) {
                LOG.log(Level.DEBUG, "{0}: closed during option haggling", who);
                return Optional.empty();
            }
            long magic = header.getLong();
            if (magic != Magic.IHAVEOPT) {
                throw new ProtocolException(String.format("bad option magic 0x%016x", magic));
            }
            int option = header.getInt();
            long length = Integer.toUnsignedLong(header.getInt());
            if (length > MAX_OPTION_PAYLOAD) {
                // EXPORT_NAME has no error reply: the client would read one as size and flags.
                if (length > MAX_SKIPPED_PAYLOAD || option == OptionType.EXPORT_NAME.wire()) {
                    throw new ProtocolException("option " + option + " payload of " + length + " bytes");
                }
                in.skip(length, "option payload");
                if (option == OptionType.ABORT.wire()) {
                    acknowledgeAbort(option);
                    return Optional.empty();
                }
                out.send(OptionReplies.error(option, OptionReplyType.ERR_TOO_BIG, "option payload too large"));
                continue;
            }
            ByteBuffer payload = ByteBuffer.allocate((int) length);
            in.readFully(payload, "option payload");
            payload.flip();
            Step step = handle(option, payload);
            if (step.finished()) {
                return Optional.ofNullable(step.session());
            }
        }
    }

    /** The outcome of one option: keep haggling, or finish with a session (null: abort). */
    private record Step(boolean finished, Session session) {
        static final Step CONTINUE = new Step(false, null);
        static final Step ABORT = new Step(true, null);
    }

    private Step handle(int option, ByteBuffer payload) throws IOException {
        OptionType type = OptionType.fromWire(option);
        if (type == null) {
            return refuse(option, OptionReplyType.ERR_UNSUP, "unknown option " + option);
        }
        LOG.log(Level.DEBUG, "{0}: option {1} ({2} bytes)", who, type, payload.remaining());
        try {
            return switch (type) {
                case EXPORT_NAME -> exportName(payload);
                case ABORT -> {
                    acknowledgeAbort(option);
                    yield Step.ABORT;
                }
                case LIST -> list(option, payload);
                case INFO, GO -> info(type, payload);
                case STRUCTURED_REPLY -> structuredReply(option, payload);
                case LIST_META_CONTEXT, SET_META_CONTEXT -> metaContext(type, payload);
                case STARTTLS -> refuse(option, OptionReplyType.ERR_UNSUP, "TLS is not supported yet");
                case PEEK_EXPORT, EXTENDED_HEADERS ->
                        refuse(option, OptionReplyType.ERR_UNSUP, type + " is not supported");
            };
        } catch (MalformedOptionException e) {
            return refuse(option, OptionReplyType.ERR_INVALID, e.getMessage());
        }
    }

    /** The client may close right after ABORT without reading the ACK (nbdinfo --list does). */
    private void acknowledgeAbort(int option) {
        try {
            out.send(OptionReplies.ack(option));
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "{0}: client left before the ABORT reply: {1}", who, e.toString());
        }
    }

    private Step refuse(int option, OptionReplyType error, String message) throws IOException {
        LOG.log(Level.DEBUG, "{0}: option {1} refused: {2}", who, option, message);
        out.send(OptionReplies.error(option, error, message));
        return Step.CONTINUE;
    }

    /** NBD_OPT_EXPORT_NAME: no error reply exists, so an unknown name ends the connection. */
    private Step exportName(ByteBuffer payload) throws IOException {
        String name = StandardCharsets.UTF_8.decode(payload).toString();
        Export export = exports.find(name)
                .orElseThrow(() -> new ProtocolException("unknown export '" + shorten(name) + "'"));
        Capabilities caps = export.device().capabilities();
        out.send(OptionReplies.exportNameReply(export.device().size(),
                TransmissionFlags.of(caps, structuredReplies), noZeroes));
        return new Step(true, session(export));
    }

    private Step list(int option, ByteBuffer payload) throws IOException {
        if (payload.hasRemaining()) {
            return refuse(option, OptionReplyType.ERR_INVALID, "LIST takes no payload");
        }
        for (Export export : exports.all()) {
            out.send(OptionReplies.server(option, export.name(), export.description()));
        }
        out.send(OptionReplies.ack(option));
        return Step.CONTINUE;
    }

    private Step info(OptionType type, ByteBuffer payload) throws IOException, MalformedOptionException {
        int option = type.wire();
        OptionPayloads.ExportQuery query = OptionPayloads.exportQuery(payload);
        Optional<Export> found = exports.find(query.name());
        if (found.isEmpty()) {
            return refuse(option, OptionReplyType.ERR_UNKNOWN, "no export named '" + shorten(query.name()) + "'");
        }
        Export export = found.get();
        Capabilities caps = export.device().capabilities();
        out.send(OptionReplies.infoExport(option, export.device().size(),
                TransmissionFlags.of(caps, structuredReplies)));
        List<Integer> requests = query.infoRequests();
        if (requests.contains(InfoType.NAME.wire())) {
            out.send(OptionReplies.infoText(option, InfoType.NAME, export.name()));
        }
        if (requests.contains(InfoType.DESCRIPTION.wire()) && !export.description().isEmpty()) {
            out.send(OptionReplies.infoText(option, InfoType.DESCRIPTION, export.description()));
        }
        // Sent even when not asked for: our minimum of 1 never requires the client to know it.
        BlockSizes sizes = caps.blockSizes();
        out.send(OptionReplies.infoBlockSize(option, sizes.minimum(), sizes.preferred(), sizes.maximum()));
        out.send(OptionReplies.ack(option));
        if (type == OptionType.GO) {
            return new Step(true, session(export));
        }
        return Step.CONTINUE;
    }

    private Step structuredReply(int option, ByteBuffer payload) throws IOException {
        if (payload.hasRemaining()) {
            return refuse(option, OptionReplyType.ERR_INVALID, "STRUCTURED_REPLY takes no payload");
        }
        structuredReplies = true;
        out.send(OptionReplies.ack(option));
        return Step.CONTINUE;
    }

    /**
     * proto.md: "Metadata querying"; only base:allocation exists here. A SET replaces the earlier
     * selection even when it fails, so every failure path clears it first.
     */
    private Step metaContext(OptionType type, ByteBuffer payload) throws IOException, MalformedOptionException {
        int option = type.wire();
        boolean set = type == OptionType.SET_META_CONTEXT;
        if (set) {
            metaContextExport = null;
        }
        OptionPayloads.MetaContextQuery query = OptionPayloads.metaContextQuery(payload);
        if (set && !structuredReplies) {
            return refuse(option, OptionReplyType.ERR_INVALID, "negotiate structured replies first");
        }
        if (exports.find(query.exportName()).isEmpty()) {
            return refuse(option, OptionReplyType.ERR_UNKNOWN, "no export named '" + shorten(query.exportName()) + "'");
        }
        boolean selected = set
                ? query.queries().contains(BASE_ALLOCATION)
                : query.queries().isEmpty() || query.queries().stream().anyMatch(Negotiation::matchesBase);
        if (selected) {
            // LIST replies carry the reserved id 0; SET replies the id BLOCK_STATUS will use.
            out.send(OptionReplies.metaContext(option, set ? BASE_ALLOCATION_ID : 0, BASE_ALLOCATION));
        }
        if (set && selected) {
            metaContextExport = query.exportName();
        }
        out.send(OptionReplies.ack(option));
        return Step.CONTINUE;
    }

    /** An export name cut to fit in a log line and an error message. */
    private static String shorten(String name) {
        return name.length() <= 64 ? name : name.substring(0, 64) + "...";
    }

    private static boolean matchesBase(String query) {
        return query.equals("base:") || query.equals(BASE_ALLOCATION);
    }

    private Session session(Export export) {
        boolean contextValid = metaContextExport != null
                && exports.find(metaContextExport).map(e -> e == export).orElse(false);
        return new Session(export, structuredReplies, contextValid ? BASE_ALLOCATION_ID : -1);
    }
}
