package dev.sprout.server;

import static dev.sprout.server.RawNbdClient.DISC;
import static dev.sprout.server.RawNbdClient.FLUSH;
import static dev.sprout.server.RawNbdClient.READ;
import static dev.sprout.server.RawNbdClient.WRITE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.backend.NullBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.nbd.HandshakeFlag;
import dev.sprout.nbd.Magic;
import dev.sprout.nbd.NbdError;
import dev.sprout.nbd.OptionReplyType;
import dev.sprout.nbd.OptionType;
import dev.sprout.nbd.ReplyType;
import dev.sprout.nbd.TransmissionFlag;
import dev.sprout.nbd.WireBytes;
import dev.sprout.server.RawNbdClient.Chunk;
import dev.sprout.server.RawNbdClient.Message;
import dev.sprout.server.RawNbdClient.SimpleReply;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A connection's life as a stream of raw bytes: input split anywhere is reassembled, pipelined
 * requests all get their replies, DISC and end of input let earlier requests finish, writes are
 * shared across connections, and closing the server drains what is in flight.
 */
@Timeout(60)
class ConnectionTest {

    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    private RunningServer server;

    @BeforeEach
    void start() throws IOException {
        server = RunningServer.start(dir, MemoryBlockDevice.create(64 << 20));
    }

    @AfterEach
    void stillServesOthers() throws IOException {
        try (RunningServer running = server) {
            running.assertServesAnotherClient();
        }
    }

    private static byte[] pattern(int length, long seed) {
        byte[] data = new byte[length];
        new Random(seed).nextBytes(data);
        data[0] = 7;
        return data;
    }

    private static byte[] writeRequest(long cookie, long offset, byte[] data) {
        return new WireBytes().raw(RawNbdClient.header(WRITE, 0, cookie, offset, data.length)).raw(data).bytes();
    }

    private static void assertReads(RawNbdClient client, long offset, byte[] expected) throws IOException {
        client.request(READ, 0, 0xbeef, offset, expected.length);
        assertThat(client.readData(0xbeef, expected.length)).isEqualTo(expected);
    }

    @Test
    void reassemblesAHandshakeSentByteByByte() throws Exception {
        try (RawNbdClient client = server.connect()) {
            client.read(18);
            client.sendByteByByte(new WireBytes()
                    .u32(HandshakeFlag.FIXED_NEWSTYLE.bit() | HandshakeFlag.NO_ZEROES.bit())
                    .raw(RawNbdClient.option(OptionType.STRUCTURED_REPLY.wire(), new byte[0]))
                    .raw(RawNbdClient.option(OptionType.GO.wire(), WireBytes.exportQuery("")))
                    .bytes());

            assertThat(client.readOptionReplies(OptionType.STRUCTURED_REPLY.wire()))
                    .singleElement().matches(r -> r.is(OptionReplyType.ACK));
            assertThat(client.readOptionReplies(OptionType.GO.wire()).getLast().is(OptionReplyType.ACK)).isTrue();
            client.request(READ, 0, 1, 0, 512);
            assertThat(client.readStructuredReply(1)).isNotEmpty();
        }
    }

    @Test
    void reassemblesRequestHeadersAndPayloadSentByteByByte() throws Exception {
        try (RawNbdClient client = server.negotiated(false, false)) {
            byte[] data = pattern(100, 1);
            client.sendByteByByte(writeRequest(1, 333, data));
            assertThat(client.readSimpleReply()).isEqualTo(new SimpleReply(0, 1));
            client.sendByteByByte(RawNbdClient.header(READ, 0, 2, 333, 100));
            assertThat(client.readData(2, 100)).isEqualTo(data);
        }
    }

    @Test
    void reassemblesRequestsSplitAtRandomPlaces() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        try (RawNbdClient client = server.negotiated(false, false)) {
            WireBytes writes = new WireBytes();
            Map<Long, byte[]> written = new HashMap<>();
            for (long cookie = 0; cookie < 40; cookie++) {
                byte[] data = pattern(1 + random.nextInt(1500), random.nextLong());
                written.put(cookie, data);
                writes.raw(writeRequest(cookie, cookie * 4 * BLOCK, data));
            }
            client.sendInPieces(writes.bytes(), random, 37);
            Set<Long> answered = new HashSet<>();
            for (int i = 0; i < written.size(); i++) {
                SimpleReply reply = client.readSimpleReply();
                assertThat(reply.error()).as("seed %d", seed).isZero();
                answered.add(reply.cookie());
            }
            assertThat(answered).as("seed %d", seed).isEqualTo(written.keySet());

            WireBytes reads = new WireBytes();
            for (long cookie = 0; cookie < 40; cookie++) {
                reads.raw(RawNbdClient.header(READ, 0, cookie, cookie * 4 * BLOCK, written.get(cookie).length));
            }
            client.sendInPieces(reads.bytes(), random, 11);
            for (int i = 0; i < written.size(); i++) {
                SimpleReply reply = client.readSimpleReply();
                assertThat(reply.error()).as("seed %d", seed).isZero();
                byte[] data = client.read(written.get(reply.cookie()).length);
                assertThat(data).as("seed %d, cookie %d", seed, reply.cookie()).isEqualTo(written.get(reply.cookie()));
            }
        }
    }

    @Test
    void answersSixtyFourPipelinedRequestsByCookie() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            byte[] source = pattern(32 * BLOCK, 2);
            client.send(writeRequest(0, 1 << 20, source));
            assertThat(client.readSimpleReply()).isEqualTo(new SimpleReply(0, 0));

            WireBytes pipeline = new WireBytes();
            Map<Long, byte[]> expected = new HashMap<>();
            Map<Long, byte[]> writes = new HashMap<>();
            for (int i = 0; i < 64; i++) {
                long cookie = 0xc0c0_0000L + i;
                if (i % 2 == 0) {
                    byte[] data = pattern(BLOCK, i);
                    writes.put(cookie, data);
                    pipeline.raw(writeRequest(cookie, (long) i * BLOCK, data));
                } else {
                    int block = i / 2;
                    expected.put(cookie, Arrays.copyOfRange(source, block * BLOCK, (block + 1) * BLOCK));
                    pipeline.raw(RawNbdClient.header(READ, 0, cookie, (1 << 20) + (long) block * BLOCK, BLOCK));
                }
            }
            client.send(pipeline.bytes());

            Set<Long> answered = new HashSet<>();
            for (int i = 0; i < 64; i++) {
                SimpleReply reply = client.readSimpleReply();
                assertThat(reply.error()).isZero();
                assertThat(answered.add(reply.cookie())).as("cookie %x answered once", reply.cookie()).isTrue();
                if (expected.containsKey(reply.cookie())) {
                    assertThat(client.read(BLOCK)).isEqualTo(expected.get(reply.cookie()));
                } else {
                    assertThat(writes).containsKey(reply.cookie());
                }
            }
            assertThat(answered).hasSize(64);
            for (Map.Entry<Long, byte[]> write : writes.entrySet()) {
                assertReads(client, (write.getKey() - 0xc0c0_0000L) * BLOCK, write.getValue());
            }
        }
    }

    @Test
    void answersSixtyFourPipelinedStructuredReadsByCookie() throws IOException {
        try (RawNbdClient client = server.negotiated(true, false)) {
            byte[] source = pattern(16 * BLOCK, 3);
            client.send(writeRequest(0, 0, source));
            assertThat(client.readError(0)).isZero();

            WireBytes pipeline = new WireBytes();
            for (int i = 0; i < 64; i++) {
                pipeline.raw(RawNbdClient.header(READ, 0, 100 + i, (i % 32) * BLOCK, BLOCK));
            }
            client.send(pipeline.bytes());

            Map<Long, ByteBuffer> assembled = new HashMap<>();
            Set<Long> done = new HashSet<>();
            while (done.size() < 64) {
                Message message = client.readMessage();
                assertThat(message).isInstanceOf(Chunk.class);
                Chunk chunk = (Chunk) message;
                assertThat(done).as("no chunk after DONE for %d", chunk.cookie()).doesNotContain(chunk.cookie());
                ByteBuffer data = assembled.computeIfAbsent(chunk.cookie(), c -> ByteBuffer.allocate(BLOCK));
                if (chunk.is(ReplyType.OFFSET_DATA)) {
                    ByteBuffer payload = chunk.buffer();
                    long offset = payload.getLong();
                    data.put((int) (offset % BLOCK), payload, payload.position(), payload.remaining());
                } else {
                    assertThat(chunk.type()).as("only data, holes or NONE").isIn(ReplyType.OFFSET_HOLE.wire(),
                            ReplyType.NONE.wire());
                }
                if (chunk.done()) {
                    done.add(chunk.cookie());
                }
            }
            for (long cookie = 100; cookie < 164; cookie++) {
                int block = (int) ((cookie - 100) % 32);
                byte[] want = block < 16 ? Arrays.copyOfRange(source, block * BLOCK, (block + 1) * BLOCK)
                        : new byte[BLOCK];
                assertThat(assembled.get(cookie).array()).as("cookie %d", cookie).isEqualTo(want);
            }
        }
    }

    /**
     * Large WRITEs: whole 64 KiB pages (which the memory device takes through lent pages, read
     * straight from the socket), part pages, and pages of zeroes over data, pipelined and split
     * at random places, including inside the payloads.
     */
    @Test
    void largeWritesOfWholeAndPartPagesSplitAtRandomPlacesLandWhole() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        int page = 64 * 1024;
        record Write(long offset, byte[] data) { }
        List<Write> writes = List.of(new Write(0, pattern(2 * page, 1)), new Write(2L * page, pattern(16 * page, 2)),
                new Write(18L * page + 512, pattern(16 * page + 4096, 3)), new Write(40L * page, pattern(3 * page, 4)),
                new Write(48L * page, pattern(4 * page, 5)));
        try (RawNbdClient client = server.negotiated(false, false)) {
            WireBytes pipeline = new WireBytes();
            for (int i = 0; i < writes.size(); i++) {
                pipeline.raw(writeRequest(i, writes.get(i).offset(), writes.get(i).data()));
            }
            client.sendInPieces(pipeline.bytes(), random, 100_000);
            for (int i = 0; i < writes.size(); i++) {
                assertThat(client.readSimpleReply().error()).as("seed %d", seed).isZero();
            }
            for (Write write : writes) {
                assertReads(client, write.offset(), write.data());
            }
            byte[] zeroes = new byte[2 * page];
            client.send(writeRequest(9, 48L * page, zeroes));
            assertThat(client.readSimpleReply()).isEqualTo(new SimpleReply(0, 9));
            byte[] rest = Arrays.copyOfRange(writes.get(4).data(), 2 * page, 4 * page);
            assertReads(client, 48L * page, zeroes);
            assertReads(client, 50L * page, rest);
        }
    }

    /** On a null device large payloads are read into a shared sink; the stream stays in step around them. */
    @Test
    void aNullDeviceReadsLargePayloadsAndKeepsTheStreamInStep() throws Exception {
        Random random = new Random();
        try (RunningServer sink = RunningServer.start(dir.resolve("null"), new NullBlockDevice(1L << 40));
             RawNbdClient client = sink.negotiated(false, false)) {
            WireBytes pipeline = new WireBytes();
            int[] lengths = {(1 << 20) + 100, 65_537, 4 << 20, 300};
            for (int i = 0; i < lengths.length; i++) {
                pipeline.raw(writeRequest(i, 4096L * i, pattern(lengths[i], i)));
                pipeline.raw(RawNbdClient.header(READ, 0, 100 + i, 512, 512));
            }
            client.sendInPieces(pipeline.bytes(), random, 200_000);
            for (int i = 0; i < 2 * lengths.length; i++) {
                SimpleReply reply = client.readSimpleReply();
                assertThat(reply.error()).isZero();
                if (reply.cookie() >= 100) {
                    assertThat(client.read(512)).containsOnly(0);
                }
            }
        }
    }

    /** A large WRITE past the end of a device that lends buffers for any write is refused, and its payload skipped. */
    @Test
    void aLargeWritePastTheEndOfALendingDeviceIsEnospcAndTheStreamStaysInStep() throws Exception {
        long size = 1L << 30;
        try (RunningServer sink = RunningServer.start(dir.resolve("null"), new NullBlockDevice(size));
             RawNbdClient client = sink.negotiated(false, false)) {
            client.send(new WireBytes().raw(writeRequest(1, size - 65536, pattern(256 * 1024, 9)))
                    .raw(RawNbdClient.header(READ, 0, 2, 0, 512)).bytes());
            Map<Long, Integer> errors = new HashMap<>();
            for (int i = 0; i < 2; i++) {
                SimpleReply reply = client.readSimpleReply();
                errors.put(reply.cookie(), reply.error());
                if (reply.cookie() == 2) {
                    assertThat(client.read(512)).containsOnly(0);
                }
            }
            assertThat(errors).isEqualTo(Map.of(1L, NbdError.ENOSPC.wire(), 2L, 0));
        }
    }

    /** A payload cut short by the client going away never lands, in whole pages or in part. */
    @Test
    void aLargeWriteWhosePayloadIsCutShortChangesNothing() throws Exception {
        int page = 64 * 1024;
        byte[] before = pattern(16 * page, 7);
        try (RawNbdClient client = server.negotiated(false, false)) {
            client.write(1, 0, before);
            assertThat(client.readSimpleReply()).isEqualTo(new SimpleReply(0, 1));
            byte[] torn = writeRequest(2, 0, pattern(16 * page, 8));
            client.send(Arrays.copyOf(torn, torn.length - 12 * page));
        }
        try (RawNbdClient reader = server.negotiated(false, false)) {
            assertReads(reader, 0, before);
        }
    }

    @Test
    void discAfterPipelinedWritesStillAnswersEveryWriteBeforeClosing() throws IOException {
        WireBytes pipeline = new WireBytes();
        Map<Long, byte[]> writes = new HashMap<>();
        for (long cookie = 1; cookie <= 32; cookie++) {
            byte[] data = pattern(2 * BLOCK, cookie);
            writes.put(cookie, data);
            pipeline.raw(writeRequest(cookie, cookie * 2 * BLOCK, data));
        }
        pipeline.raw(RawNbdClient.header(DISC, 0, 99, 0, 0));
        try (RawNbdClient client = server.negotiated(false, false)) {
            client.send(pipeline.bytes());
            client.shutdownOutput();

            Set<Long> answered = new HashSet<>();
            for (int i = 0; i < writes.size(); i++) {
                SimpleReply reply = client.readSimpleReply();
                assertThat(reply.error()).isZero();
                answered.add(reply.cookie());
            }
            assertThat(answered).isEqualTo(writes.keySet());
            client.expectClosed();
        }
        try (RawNbdClient reader = server.negotiated(false, false)) {
            for (Map.Entry<Long, byte[]> write : writes.entrySet()) {
                assertReads(reader, write.getKey() * 2 * BLOCK, write.getValue());
            }
        }
    }

    @Test
    void requestsAfterDiscAreNeitherAnsweredNorCarriedOut() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            client.send(new WireBytes().raw(RawNbdClient.header(DISC, 0, 1, 0, 0))
                    .raw(writeRequest(2, 0, pattern(BLOCK, 4))).bytes());
            client.expectClosed();
        }
        try (RawNbdClient reader = server.negotiated(false, false)) {
            assertReads(reader, 0, new byte[BLOCK]);
        }
    }

    @Test
    void endOfInputWithoutDiscStillAnswersEarlierRequests() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            client.send(new WireBytes().raw(writeRequest(1, 0, pattern(BLOCK, 5)))
                    .raw(RawNbdClient.header(READ, 0, 2, 0, BLOCK)).bytes());
            client.shutdownOutput();
            Map<Long, Integer> errors = new HashMap<>();
            for (int i = 0; i < 2; i++) {
                SimpleReply reply = client.readSimpleReply();
                errors.put(reply.cookie(), reply.error());
                if (reply.cookie() == 2) {
                    client.read(BLOCK);
                }
            }
            assertThat(errors).isEqualTo(Map.of(1L, 0, 2L, 0));
            client.expectClosed();
        }
    }

    @Test
    void flushOnOneConnectionAndReadThereSeesAWriteFromAnother() throws IOException {
        try (RawNbdClient a = server.negotiated(false, false); RawNbdClient b = server.connect()) {
            b.handshake();
            assertThat(TransmissionFlag.CAN_MULTI_CONN.in(b.go("").flags())).isTrue();
            byte[] data = pattern(3 * BLOCK, 6);

            a.write(1, 5 * BLOCK + 7, data);
            assertThat(a.readSimpleReply()).isEqualTo(new SimpleReply(0, 1));
            b.request(FLUSH, 0, 2, 0, 0);
            assertThat(b.readSimpleReply()).isEqualTo(new SimpleReply(0, 2));
            assertReads(b, 5 * BLOCK + 7, data);
        }
    }

    @Test
    void oneClientsGarbageDoesNotDisturbAnotherClientsSession() throws IOException {
        try (RawNbdClient good = server.negotiated(false, false)) {
            good.write(1, 0, pattern(BLOCK, 8));
            assertThat(good.readSimpleReply()).isEqualTo(new SimpleReply(0, 1));
            try (RawNbdClient bad = server.negotiated(false, false)) {
                bad.send(new WireBytes().u64(Magic.IHAVEOPT).u64(-1).u64(-1).u32(0).bytes());
                bad.expectClosed();
            }
            assertReads(good, 0, pattern(BLOCK, 8));
        }
    }

    @Test
    void aBlockingDevicesWaitingReadDoesNotHoldUpLaterRequestsOnTheSameConnection() throws Exception {
        GatedDevice gated = new GatedDevice(MemoryBlockDevice.create(1 << 20));
        try (RunningServer slow = RunningServer.start(dir.resolve("slow"), gated);
             RawNbdClient client = slow.negotiated(false, false)) {
            client.request(READ, 0, 1, 0, BLOCK);
            assertThat(gated.entered.await(10, TimeUnit.SECONDS)).as("the read reached the device").isTrue();
            client.send(writeRequest(2, BLOCK, pattern(BLOCK, 9)));
            client.request(FLUSH, 0, 3, 0, 0);
            Set<SimpleReply> answered = Set.of(client.readSimpleReply(), client.readSimpleReply());
            assertThat(answered).as("the write and the flush, answered while the read waits")
                    .containsExactlyInAnyOrder(new SimpleReply(0, 2), new SimpleReply(0, 3));
            gated.release.countDown();
            assertThat(client.readData(1, BLOCK)).containsOnly(0);
        }
    }

    @Test
    void aPipelineWhoseRepliesOutgrowTheHeldBufferIsAnsweredCompletely() throws IOException {
        int reads = 3 * ConnectionOutput.HELD_BYTES / BLOCK;
        byte[] source = pattern(reads * BLOCK, 5);
        try (RawNbdClient client = server.negotiated(false, false)) {
            client.send(writeRequest(0, 0, source));
            assertThat(client.readSimpleReply()).isEqualTo(new SimpleReply(0, 0));
            WireBytes pipeline = new WireBytes();
            for (int i = 0; i < reads; i++) {
                pipeline.raw(RawNbdClient.header(READ, 0, 1000 + i, (long) i * BLOCK, BLOCK));
            }
            client.send(pipeline.bytes());
            Set<Long> answered = new HashSet<>();
            for (int i = 0; i < reads; i++) {
                SimpleReply reply = client.readSimpleReply();
                assertThat(reply.error()).isZero();
                int block = (int) (reply.cookie() - 1000);
                assertThat(client.read(BLOCK)).isEqualTo(Arrays.copyOfRange(source, block * BLOCK, (block + 1) * BLOCK));
                answered.add(reply.cookie());
            }
            assertThat(answered).hasSize(reads);
        }
    }

    @Test
    void closeLetsARequestInFlightFinishThenClosesEveryConnection() throws Exception {
        GatedDevice gated = new GatedDevice(MemoryBlockDevice.create(1 << 20));
        try (RunningServer closing = RunningServer.start(dir.resolve("closing"), gated);
             RawNbdClient busy = closing.negotiated(false, false);
             RawNbdClient idle = closing.negotiated(false, false);
             RawNbdClient haggling = closing.connect()) {
            haggling.handshake();
            busy.request(READ, 0, 77, 0, BLOCK);
            assertThat(gated.entered.await(10, TimeUnit.SECONDS)).as("the read reached the device").isTrue();

            Thread closer = Thread.ofPlatform().start(() -> closing.server().close());
            idle.expectClosed();
            haggling.expectClosed();
            assertThat(closer.isAlive()).as("close() waits for the request in flight").isTrue();

            gated.release.countDown();
            assertThat(busy.readData(77, BLOCK)).containsOnly(0);
            busy.expectClosed();
            closer.join(10_000);
            assertThat(closer.isAlive()).as("close() returned").isFalse();
            assertThatThrownBy(closing::connect).as("no longer listening").isInstanceOf(IOException.class);
        }
    }

    /** A device whose reads wait at a gate until the test opens it. */
    private static final class GatedDevice extends ForwardingBlockDevice {

        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        GatedDevice(BlockDevice in) {
            super(in);
        }

        @Override
        public boolean nonBlocking() {
            return false; // it waits at the gate
        }

        @Override
        public void read(long offset, ByteBuffer dst) throws IOException {
            entered.countDown();
            try {
                if (!release.await(30, TimeUnit.SECONDS)) {
                    throw new IOException("gate never opened");
                }
            } catch (InterruptedException e) {
                throw new InterruptedIOException("interrupted at the gate");
            }
            in.read(offset, dst);
        }
    }
}
