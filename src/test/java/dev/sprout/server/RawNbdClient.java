package dev.sprout.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.nbd.HandshakeFlag;
import dev.sprout.nbd.InfoType;
import dev.sprout.nbd.Magic;
import dev.sprout.nbd.OptionReplyType;
import dev.sprout.nbd.OptionType;
import dev.sprout.nbd.ReplyType;
import dev.sprout.nbd.TransmissionReplies;
import dev.sprout.nbd.WireBytes;
import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

/**
 * A test client that speaks NBD as raw bytes over a Unix socket. It sends whatever it is given,
 * malformed or cut into pieces, and reads with a timeout, so a server that stays silent fails the
 * test instead of hanging it.
 */
final class RawNbdClient implements AutoCloseable {

    /** Command types (proto.md: "Request types"). */
    static final int READ = 0;
    static final int WRITE = 1;
    static final int DISC = 2;
    static final int FLUSH = 3;
    static final int TRIM = 4;
    static final int CACHE = 5;
    static final int WRITE_ZEROES = 6;
    static final int BLOCK_STATUS = 7;

    /** How long any single read may wait for the server. */
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    /** One option reply: the option it answers, its type, and its data. */
    record OptionReply(int option, int type, byte[] data) {
        boolean is(OptionReplyType expected) {
            return type == expected.wire();
        }

        ByteBuffer buffer() {
            return ByteBuffer.wrap(data);
        }

        String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    /** What GO or INFO said about an export. */
    record ExportInfo(long size, int flags) {
    }

    /** A transmission reply message: a simple reply header, or one structured chunk. */
    sealed interface Message {
        long cookie();
    }

    /** A simple reply header; a successful READ's data follows it unread. */
    record SimpleReply(int error, long cookie) implements Message {
    }

    /** One structured reply chunk with its whole payload. */
    record Chunk(int flags, int type, long cookie, byte[] payload) implements Message {
        boolean done() {
            return (flags & TransmissionReplies.FLAG_DONE) != 0;
        }

        boolean is(ReplyType expected) {
            return type == expected.wire();
        }

        ByteBuffer buffer() {
            return ByteBuffer.wrap(payload);
        }

        /** The error value of an error chunk. */
        int error() {
            assertThat(type & 0x8000).as("an error chunk, not type %d", type).isNotZero();
            return buffer().getInt();
        }
    }

    private final SocketChannel channel;
    private final Selector selector;
    private final SelectionKey key;

    private RawNbdClient(SocketChannel channel) throws IOException {
        this.channel = channel;
        channel.configureBlocking(false);
        this.selector = Selector.open();
        this.key = channel.register(selector, 0);
    }

    static RawNbdClient connect(Path socket) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(socket));
        return new RawNbdClient(channel);
    }

    // ---- raw bytes

    void send(byte[] bytes) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        while (buffer.hasRemaining()) {
            if (channel.write(buffer) == 0) {
                await(SelectionKey.OP_WRITE, "room to send " + buffer.remaining() + " more bytes");
            }
        }
    }

    void send(WireBytes bytes) throws IOException {
        send(bytes.bytes());
    }

    /** Sends one byte at a time with a pause in between, so the server sees each in its own read. */
    void sendByteByByte(byte[] bytes) throws IOException, InterruptedException {
        for (byte b : bytes) {
            send(new byte[] {b});
            Thread.sleep(1);
        }
    }

    /** Sends {@code bytes} in pieces of random sizes from 1 to {@code maxPiece}. */
    void sendInPieces(byte[] bytes, Random random, int maxPiece) throws IOException, InterruptedException {
        for (int at = 0; at < bytes.length; ) {
            int piece = Math.min(bytes.length - at, 1 + random.nextInt(maxPiece));
            byte[] part = new byte[piece];
            System.arraycopy(bytes, at, part, 0, piece);
            send(part);
            at += piece;
            if (random.nextInt(16) == 0) {
                Thread.sleep(1);
            }
        }
    }

    /** Half-closes: the server sees end of input while this client can still read replies. */
    void shutdownOutput() throws IOException {
        channel.shutdownOutput();
    }

    /** Exactly {@code count} bytes; fails after {@link #TIMEOUT}, throws EOFException on end of stream. */
    byte[] read(int count) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(count);
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer);
            if (n < 0) {
                throw new EOFException("server closed after " + buffer.position() + " of " + count + " bytes");
            }
            if (n == 0) {
                await(SelectionKey.OP_READ, count + " bytes, got " + buffer.position());
            }
        }
        return buffer.array();
    }

    ByteBuffer readBuffer(int count) throws IOException {
        return ByteBuffer.wrap(read(count));
    }

    /** Asserts the server closes the connection without sending another byte. */
    void expectClosed() throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(64);
        try {
            while (true) {
                int n = channel.read(buffer);
                if (n < 0) {
                    break;
                }
                assertThat(buffer.position()).as("bytes from a server expected to close: %s",
                        HexFormat.of().formatHex(buffer.array(), 0, buffer.position())).isZero();
                await(SelectionKey.OP_READ, "the server to close the connection");
            }
        } catch (IOException reset) {
            // A close with unread input resets the connection: closed all the same.
            assertThat(reset.getMessage()).contains("reset");
        }
    }

    /** Waits until the socket is ready for {@code op}; fails the test after {@link #TIMEOUT}. */
    private void await(int op, String what) throws IOException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        key.interestOps(op);
        while (selector.select(Math.max(1, (deadline - System.nanoTime()) / 1_000_000)) == 0) {
            if (System.nanoTime() - deadline >= 0) {
                throw new AssertionError("timed out after " + TIMEOUT.toSeconds() + "s waiting for " + what);
            }
        }
        selector.selectedKeys().clear();
        key.interestOps(0);
    }

    // ---- handshake

    /** Reads the 18-byte greeting and answers with {@code clientFlags}. */
    byte[] handshake(int clientFlags) throws IOException {
        byte[] greeting = read(18);
        assertThat(ByteBuffer.wrap(greeting).getLong()).as("NBDMAGIC").isEqualTo(Magic.NBDMAGIC);
        send(new WireBytes().u32(clientFlags).bytes());
        return greeting;
    }

    /** The handshake of a modern client: fixed newstyle, no zeroes. */
    void handshake() throws IOException {
        handshake(HandshakeFlag.FIXED_NEWSTYLE.bit() | HandshakeFlag.NO_ZEROES.bit());
    }

    static byte[] option(int option, byte[] data) {
        return new WireBytes().u64(Magic.IHAVEOPT).u32(option).u32(data.length).raw(data).bytes();
    }

    void sendOption(OptionType option, byte[] data) throws IOException {
        send(option(option.wire(), data));
    }

    OptionReply readOptionReply() throws IOException {
        ByteBuffer header = readBuffer(20);
        assertThat(header.getLong()).as("option reply magic").isEqualTo(Magic.OPTION_REPLY);
        int option = header.getInt();
        int type = header.getInt();
        int length = header.getInt();
        assertThat(length).as("option reply length").isBetween(0, 1 << 20);
        return new OptionReply(option, type, read(length));
    }

    /** The replies to one option, up to and including the final ACK or error. */
    List<OptionReply> readOptionReplies(int option) throws IOException {
        List<OptionReply> replies = new ArrayList<>();
        while (true) {
            OptionReply reply = readOptionReply();
            assertThat(reply.option()).as("option echoed in %s", reply).isEqualTo(option);
            replies.add(reply);
            if (reply.is(OptionReplyType.ACK) || reply.type() < 0) {
                return replies;
            }
        }
    }

    List<OptionReply> haggle(OptionType option, byte[] data) throws IOException {
        sendOption(option, data);
        return readOptionReplies(option.wire());
    }

    void structuredReplies() throws IOException {
        assertThat(haggle(OptionType.STRUCTURED_REPLY, new byte[0]))
                .singleElement().matches(r -> r.is(OptionReplyType.ACK));
    }

    /** Selects contexts on the default export; returns the id of base:allocation, or -1. */
    int setMetaContext(String... queries) throws IOException {
        List<OptionReply> replies = haggle(OptionType.SET_META_CONTEXT, WireBytes.metaContextQuery("", queries));
        assertThat(replies.getLast().is(OptionReplyType.ACK)).as("SET_META_CONTEXT acked: %s", replies).isTrue();
        for (OptionReply reply : replies) {
            if (reply.is(OptionReplyType.META_CONTEXT) && reply.text().endsWith("base:allocation")) {
                return reply.buffer().getInt();
            }
        }
        return -1;
    }

    /** NBD_OPT_GO, which must succeed; the export's size and transmission flags. */
    ExportInfo go(String name, int... infoRequests) throws IOException {
        List<OptionReply> replies = haggle(OptionType.GO, WireBytes.exportQuery(name, infoRequests));
        assertThat(replies.getLast().is(OptionReplyType.ACK)).as("GO acked: %s", replies).isTrue();
        return exportInfo(replies);
    }

    static ExportInfo exportInfo(List<OptionReply> replies) {
        for (OptionReply reply : replies) {
            ByteBuffer data = reply.buffer();
            if (reply.is(OptionReplyType.INFO) && data.getShort(0) == InfoType.EXPORT.wire()) {
                assertThat(reply.data()).hasSize(12);
                return new ExportInfo(data.getLong(2), Short.toUnsignedInt(data.getShort(10)));
            }
        }
        throw new AssertionError("no NBD_INFO_EXPORT in " + replies);
    }

    // ---- transmission

    static byte[] header(int type, int flags, long cookie, long offset, long length) {
        return new WireBytes().u32(Magic.REQUEST).u16(flags).u16(type).u64(cookie).u64(offset).u32(length).bytes();
    }

    void request(int type, int flags, long cookie, long offset, long length) throws IOException {
        send(header(type, flags, cookie, offset, length));
    }

    void write(long cookie, long offset, byte[] data) throws IOException {
        send(new WireBytes().raw(header(WRITE, 0, cookie, offset, data.length)).raw(data).bytes());
    }

    /** The next reply message; a simple reply's data, if any, is left unread. */
    Message readMessage() throws IOException {
        ByteBuffer magic = readBuffer(4);
        int value = magic.getInt();
        if (value == Magic.SIMPLE_REPLY) {
            ByteBuffer rest = readBuffer(12);
            return new SimpleReply(rest.getInt(), rest.getLong());
        }
        assertThat(value).as("reply magic 0x%08x", value).isEqualTo(Magic.STRUCTURED_REPLY);
        ByteBuffer rest = readBuffer(16);
        int flags = Short.toUnsignedInt(rest.getShort());
        int type = Short.toUnsignedInt(rest.getShort());
        long cookie = rest.getLong();
        int length = rest.getInt();
        assertThat(length).as("chunk length").isBetween(0, (32 << 20) + 8);
        return new Chunk(flags, type, cookie, read(length));
    }

    SimpleReply readSimpleReply() throws IOException {
        Message message = readMessage();
        assertThat(message).isInstanceOf(SimpleReply.class);
        return (SimpleReply) message;
    }

    /** The chunks of one structured reply, up to the one flagged DONE. */
    List<Chunk> readStructuredReply(long cookie) throws IOException {
        List<Chunk> chunks = new ArrayList<>();
        do {
            Message message = readMessage();
            assertThat(message).as("a structured reply chunk").isInstanceOf(Chunk.class);
            assertThat(message.cookie()).as("cookie").isEqualTo(cookie);
            chunks.add((Chunk) message);
        } while (!chunks.getLast().done());
        return chunks;
    }

    /** Asserts a simple reply without error to {@code cookie} and returns its {@code length} data bytes. */
    byte[] readData(long cookie, int length) throws IOException {
        SimpleReply reply = readSimpleReply();
        assertThat(reply).isEqualTo(new SimpleReply(0, cookie));
        return read(length);
    }

    /** The error of the next reply to {@code cookie}, simple or structured; 0 on success. */
    int readError(long cookie) throws IOException {
        Message message = readMessage();
        assertThat(message.cookie()).as("cookie").isEqualTo(cookie);
        if (message instanceof SimpleReply simple) {
            return simple.error();
        }
        Chunk chunk = (Chunk) message;
        assertThat(chunk.done()).as("a one-chunk reply: %s", chunk).isTrue();
        return (chunk.type() & 0x8000) == 0 ? 0 : chunk.error();
    }

    @Override
    public void close() throws IOException {
        try (selector; channel) {
            key.cancel();
        }
    }
}
