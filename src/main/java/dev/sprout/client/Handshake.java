package dev.sprout.client;

import dev.sprout.nbd.HandshakeFlag;
import dev.sprout.nbd.InfoType;
import dev.sprout.nbd.Magic;
import dev.sprout.nbd.OptionReplyType;
import dev.sprout.nbd.OptionRequests;
import dev.sprout.nbd.OptionType;
import dev.sprout.nbd.ProtocolException;
import dev.sprout.nbd.ReplyDecoders;
import dev.sprout.nbd.ReplyDecoders.OptionReply;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The client side of fixed newstyle negotiation (proto.md: "Fixed newstyle negotiation"):
 * STRUCTURED_REPLY, (when asked) LIST_META_CONTEXT with no queries, SET_META_CONTEXT
 * base:allocation, then GO asking for block sizes, falling back to EXPORT_NAME when the server
 * does not know GO.
 */
final class Handshake {

    static final String BASE_ALLOCATION = "base:allocation";
    /** Option replies larger than this are not believed. */
    private static final long MAX_OPTION_REPLY = 64 * 1024;

    private final SocketWire wire;
    private final String export;
    private final boolean listContexts;

    private int minimumBlock = 1;
    private int preferredBlock = 4096;
    private long maximumBlock = 32 << 20;
    private boolean structured;
    private boolean fixed;
    private int allocationContext = -1;
    private final List<String> contexts = new ArrayList<>();
    private final List<String> offeredContexts = new ArrayList<>();

    private Handshake(SocketWire wire, String export, boolean listContexts) {
        this.wire = wire;
        this.export = export;
        this.listContexts = listContexts;
    }

    /**
     * Negotiates {@code export} over {@code wire}; on return the connection is in transmission.
     * With {@code listContexts} it first asks for every metadata context the server offers.
     */
    static ExportInfo run(SocketWire wire, String export, boolean listContexts) throws IOException {
        return new Handshake(wire, export, listContexts).run();
    }

    private ExportInfo run() throws IOException {
        ByteBuffer greeting = wire.read(18);
        if (greeting.getLong() != Magic.NBDMAGIC) {
            throw new ProtocolException("not an NBD server: bad greeting from " + wire);
        }
        long style = greeting.getLong();
        if (style != Magic.IHAVEOPT) {
            throw new ProtocolException("server " + wire + " speaks only the oldstyle handshake");
        }
        int serverFlags = Short.toUnsignedInt(greeting.getShort());
        fixed = HandshakeFlag.FIXED_NEWSTYLE.in(serverFlags);
        boolean noZeroes = HandshakeFlag.NO_ZEROES.in(serverFlags);
        int clientFlags = (fixed ? HandshakeFlag.FIXED_NEWSTYLE.bit() : 0) | (noZeroes ? HandshakeFlag.NO_ZEROES.bit() : 0);
        wire.write(ByteBuffer.allocate(4).putInt(clientFlags).flip());
        if (!fixed) {
            // Without fixed newstyle an unknown option ends the session: only EXPORT_NAME is safe.
            return exportName(noZeroes);
        }
        structured = simpleAck(OptionType.STRUCTURED_REPLY);
        if (listContexts) {
            metaContexts(OptionType.LIST_META_CONTEXT, List.of(), offeredContexts);
        }
        if (structured) {
            metaContexts(OptionType.SET_META_CONTEXT, List.of(BASE_ALLOCATION), contexts);
        }
        return go(noZeroes);
    }

    /** Sends an option without payload; true on ACK, false on an error reply. */
    private boolean simpleAck(OptionType option) throws IOException {
        wire.write(OptionRequests.option(option));
        OptionReply reply = reply(option);
        wire.skip(reply.length());
        if (!reply.isError() && !reply.is(OptionReplyType.ACK)) {
            throw new ProtocolException("unexpected reply type " + reply.type() + " to " + option);
        }
        return !reply.isError();
    }

    /**
     * LIST_META_CONTEXT or SET_META_CONTEXT with {@code queries} (none: every context the server
     * offers, proto.md: "NBD_OPT_LIST_META_CONTEXT"), adding the names replied to {@code names}. An
     * error reply (a server without metadata contexts) leaves it empty.
     */
    private void metaContexts(OptionType option, List<String> queries, List<String> names) throws IOException {
        wire.write(OptionRequests.option(option, OptionRequests.metaContextQuery(export, queries)));
        while (true) {
            OptionReply reply = reply(option);
            if (reply.isError() || reply.is(OptionReplyType.ACK)) {
                wire.skip(reply.length());
                return;
            }
            if (!reply.is(OptionReplyType.META_CONTEXT) || reply.length() < 4) {
                throw new ProtocolException("unexpected reply type " + reply.type() + " to " + option);
            }
            ByteBuffer payload = wire.read((int) reply.length());
            int id = payload.getInt();
            String name = StandardCharsets.UTF_8.decode(payload).toString();
            names.add(name);
            if (option == OptionType.SET_META_CONTEXT && name.equals(BASE_ALLOCATION)) {
                allocationContext = id;
            }
        }
    }

    private ExportInfo go(boolean noZeroes) throws IOException {
        wire.write(OptionRequests.option(OptionType.GO,
                OptionRequests.exportQuery(export, List.of(InfoType.BLOCK_SIZE))));
        long size = -1;
        int flags = 0;
        while (true) {
            OptionReply reply = reply(OptionType.GO);
            if (reply.is(OptionReplyType.ERR_UNSUP)) {
                wire.skip(reply.length());
                return exportName(noZeroes);
            }
            ByteBuffer payload = wire.read((int) reply.length());
            if (reply.isError()) {
                throw new ProtocolException(refusal(reply, payload));
            }
            if (reply.is(OptionReplyType.ACK)) {
                if (size < 0) {
                    throw new ProtocolException("server " + wire + " acknowledged GO without NBD_INFO_EXPORT");
                }
                return info(size, flags, false);
            }
            if (!reply.is(OptionReplyType.INFO) || payload.remaining() < 2) {
                throw new ProtocolException("unexpected reply type " + reply.type() + " to GO");
            }
            InfoType type = InfoType.fromWire(Short.toUnsignedInt(payload.getShort()));
            if (type == InfoType.EXPORT && payload.remaining() >= 10) {
                size = payload.getLong();
                flags = Short.toUnsignedInt(payload.getShort());
            } else if (type == InfoType.BLOCK_SIZE && payload.remaining() >= 12) {
                minimumBlock = payload.getInt();
                preferredBlock = payload.getInt();
                maximumBlock = Integer.toUnsignedLong(payload.getInt());
            }
        }
    }

    /** NBD_OPT_EXPORT_NAME: no reply on failure, the server just closes. */
    private ExportInfo exportName(boolean noZeroes) throws IOException {
        // Structured replies and contexts negotiated before stay in force (proto.md: "NBD_OPT_EXPORT_NAME").
        wire.write(OptionRequests.option(OptionType.EXPORT_NAME, OptionRequests.exportName(export)));
        ByteBuffer reply;
        try {
            reply = wire.read(10);
        } catch (IOException e) {
            throw new ProtocolException("server " + wire + " closed the connection: no export '" + export + "'");
        }
        long size = reply.getLong();
        int flags = Short.toUnsignedInt(reply.getShort());
        if (!noZeroes) {
            wire.skip(124);
        }
        return info(size, flags, true);
    }

    private ExportInfo info(long size, int flags, boolean usedExportName) {
        return new ExportInfo(size, flags, minimumBlock, preferredBlock, maximumBlock, structured,
                allocationContext, List.copyOf(contexts), List.copyOf(offeredContexts), fixed, usedExportName);
    }

    private OptionReply reply(OptionType option) throws IOException {
        OptionReply reply = ReplyDecoders.optionReply(wire.read(ReplyDecoders.OPTION_REPLY_HEADER_SIZE), option.wire());
        if (reply.length() > MAX_OPTION_REPLY) {
            throw new ProtocolException("option reply of " + reply.length() + " bytes to " + option);
        }
        return reply;
    }

    private String refusal(OptionReply reply, ByteBuffer payload) {
        OptionReplyType type = OptionReplyType.fromWire(reply.type());
        String why = StandardCharsets.UTF_8.decode(payload).toString();
        return "server " + wire + " refused export '" + export + "': "
                + (type == null ? "error " + reply.type() : type.name()) + (why.isEmpty() ? "" : " (" + why + ")");
    }
}
