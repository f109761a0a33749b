package dev.sprout.server;

import static dev.sprout.server.RawNbdClient.BLOCK_STATUS;
import static dev.sprout.server.RawNbdClient.READ;
import static dev.sprout.server.RawNbdClient.WRITE;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.nbd.CommandFlag;
import dev.sprout.nbd.NbdError;
import dev.sprout.nbd.ReplyType;
import dev.sprout.nbd.TransmissionReplies;
import dev.sprout.server.RawNbdClient.Chunk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * READ and BLOCK_STATUS with structured replies, checked chunk by chunk against proto.md
 * ("Structured reply types", "NBD_CMD_READ", "NBD_CMD_BLOCK_STATUS") and a byte model of what
 * was written. The memory device allocates 64 KiB pages, so data sits at page granularity.
 */
@Timeout(60)
class StructuredRepliesTest {

    private static final long SIZE = 8L << 30;
    private static final int PAGE = 64 << 10;
    private static final int HOLE_AND_ZERO = TransmissionReplies.STATE_HOLE | TransmissionReplies.STATE_ZERO;

    @TempDir
    Path dir;

    private RunningServer server;
    private RawNbdClient client;
    private int contextId;
    private long nextCookie = 1;
    /** What the first 1 MiB of the export holds. */
    private final byte[] model = new byte[1 << 20];

    @BeforeEach
    void start() throws IOException {
        serve(dir, MemoryBlockDevice.create(SIZE));
    }

    /** Serves {@code device} and connects with structured replies and base:allocation. */
    private void serve(Path socketDir, BlockDevice device) throws IOException {
        server = RunningServer.start(socketDir, device);
        client = server.connect();
        client.handshake();
        client.structuredReplies();
        contextId = client.setMetaContext("base:allocation");
        client.go("");
    }

    @AfterEach
    void stillServesOthers() throws IOException {
        try (RunningServer running = server) {
            try {
                running.assertServesAnotherClient();
            } finally {
                client.close();
            }
        }
    }

    /** Content and chunk counts of one successful structured READ reply. */
    private record Reassembled(byte[] data, int dataChunks, int holeChunks) {
    }

    private void write(int offset, byte[] data) throws IOException {
        long cookie = nextCookie++;
        client.write(cookie, offset, data);
        assertThat(client.readError(cookie)).isZero();
        System.arraycopy(data, 0, model, offset, data.length);
    }

    private static byte[] pattern(int length, long seed) {
        byte[] data = new byte[length];
        new Random(seed).nextBytes(data);
        data[0] = 1;
        return data;
    }

    private List<Chunk> request(int type, int flags, long offset, long length) throws IOException {
        long cookie = nextCookie++;
        client.request(type, flags, cookie, offset, length);
        return client.readStructuredReply(cookie);
    }

    /**
     * Checks a READ reply as proto.md requires: only the last chunk is DONE, content chunks lie
     * inside the request, describe at least one byte, never overlap, and together cover it exactly.
     */
    private static Reassembled reassemble(List<Chunk> chunks, long offset, int length) {
        byte[] data = new byte[length];
        BitSet covered = new BitSet(length);
        int dataChunks = 0;
        int holeChunks = 0;
        for (int i = 0; i < chunks.size(); i++) {
            Chunk chunk = chunks.get(i);
            assertThat(chunk.done()).as("DONE on chunk %d of %d", i, chunks.size()).isEqualTo(i == chunks.size() - 1);
            ByteBuffer payload = chunk.buffer();
            long start;
            int size;
            if (chunk.is(ReplyType.OFFSET_DATA)) {
                assertThat(payload.remaining()).isGreaterThanOrEqualTo(9);
                start = payload.getLong();
                size = payload.remaining();
                payload.get(data, (int) (start - offset), size);
                dataChunks++;
            } else if (chunk.is(ReplyType.OFFSET_HOLE)) {
                assertThat(payload.remaining()).isEqualTo(12);
                start = payload.getLong();
                size = payload.getInt();
                holeChunks++;
            } else {
                assertThat(chunk.is(ReplyType.NONE)).as("chunk type %d", chunk.type()).isTrue();
                assertThat(chunk.payload()).isEmpty();
                assertThat(chunk.done()).isTrue();
                continue;
            }
            assertThat(size).as("chunk size").isPositive();
            assertThat(start).as("chunk start").isGreaterThanOrEqualTo(offset);
            assertThat(start + size).as("chunk end").isLessThanOrEqualTo(offset + length);
            int from = (int) (start - offset);
            assertThat(covered.get(from, from + size).isEmpty()).as("chunk %d+%d overlaps another", start, size)
                    .isTrue();
            covered.set(from, from + size);
        }
        assertThat(covered.nextClearBit(0)).as("first byte not covered, from the request start").isEqualTo(length);
        return new Reassembled(data, dataChunks, holeChunks);
    }

    private byte[] model(int offset, int length) {
        byte[] expected = new byte[length];
        System.arraycopy(model, offset, expected, 0, length);
        return expected;
    }

    /** The (length, status) pairs of a BLOCK_STATUS chunk for our context. */
    private List<long[]> descriptors(Chunk chunk) {
        assertThat(chunk.is(ReplyType.BLOCK_STATUS)).as("chunk type %d", chunk.type()).isTrue();
        ByteBuffer payload = chunk.buffer();
        assertThat(payload.remaining() % 8).isEqualTo(4);
        assertThat(payload.getInt()).as("context id").isEqualTo(contextId);
        List<long[]> descriptors = new ArrayList<>();
        while (payload.hasRemaining()) {
            long length = Integer.toUnsignedLong(payload.getInt());
            assertThat(length).as("descriptor length").isPositive();
            descriptors.add(new long[] {length, payload.getInt()});
        }
        assertThat(descriptors).isNotEmpty();
        return descriptors;
    }

    private static void assertErrorChunk(List<Chunk> chunks, NbdError error) throws CharacterCodingException {
        assertThat(chunks).hasSize(1);
        Chunk chunk = chunks.getFirst();
        assertThat(chunk.is(ReplyType.ERROR)).as("chunk type %d", chunk.type()).isTrue();
        assertThat(chunk.done()).isTrue();
        ByteBuffer payload = chunk.buffer();
        assertThat(payload.getInt()).isEqualTo(error.wire());
        int messageLength = Short.toUnsignedInt(payload.getShort());
        assertThat(messageLength).isEqualTo(payload.remaining()).isBetween(1, TransmissionReplies.MAX_ERROR_MESSAGE);
        assertThat(StandardCharsets.UTF_8.newDecoder().decode(payload).toString()).isNotBlank();
    }

    @Test
    void sparseReadSendsHolesAsOffsetHoleChunksAndDataForTheRest() throws IOException {
        write(2 * PAGE, pattern(PAGE, 1));
        write(5 * PAGE + 100, pattern(4000, 2));

        Reassembled read = reassemble(request(READ, 0, 0, 8 * PAGE), 0, 8 * PAGE);

        assertThat(read.data()).isEqualTo(model(0, 8 * PAGE));
        assertThat(read.holeChunks()).as("holes at pages 0-1, 3-4 and 6-7").isGreaterThanOrEqualTo(3);
        assertThat(read.dataChunks()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void readOfANeverWrittenRegionIsHolesOnly() throws IOException {
        Reassembled read = reassemble(request(READ, 0, 3L << 30, 1 << 20), 3L << 30, 1 << 20);

        assertThat(read.dataChunks()).isZero();
        assertThat(read.holeChunks()).isPositive();
    }

    @Test
    void readOfWrittenDataIsOneFinalDataChunk() throws IOException {
        write(PAGE, pattern(2 * PAGE, 3));

        List<Chunk> chunks = request(READ, 0, PAGE + 10, 2 * PAGE - 20);

        assertThat(chunks).singleElement().matches(c -> c.is(ReplyType.OFFSET_DATA));
        assertThat(reassemble(chunks, PAGE + 10, 2 * PAGE - 20).data()).isEqualTo(model(PAGE + 10, 2 * PAGE - 20));
    }

    @Test
    void dontFragmentGivesExactlyOneDataChunkWithZeroesInPlace() throws IOException {
        write(2 * PAGE, pattern(PAGE, 4));
        write(5 * PAGE, pattern(100, 5));

        List<Chunk> chunks = request(READ, CommandFlag.DF.bit(), 0, 8 * PAGE);
        Reassembled read = reassemble(chunks, 0, 8 * PAGE);

        assertThat(read.dataChunks()).isEqualTo(1);
        assertThat(read.holeChunks()).isZero();
        assertThat(read.data()).isEqualTo(model(0, 8 * PAGE));
    }

    @Test
    void randomReadsReassembleToWhatWasWritten() throws IOException {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        try {
            for (int i = 0; i < 12; i++) {
                int length = 1 + random.nextInt(3 * PAGE);
                write(random.nextInt(model.length - length), pattern(length, random.nextLong()));
            }
            for (int i = 0; i < 40; i++) {
                int length = 1 + random.nextInt(model.length / 2);
                int offset = random.nextInt(model.length - length);
                int flags = random.nextInt(4) == 0 ? CommandFlag.DF.bit() : 0;
                List<Chunk> chunks = request(READ, flags, offset, length);
                assertThat(reassemble(chunks, offset, length).data())
                        .as("read %d+%d flags %d", offset, length, flags).isEqualTo(model(offset, length));
            }
        } catch (AssertionError e) {
            throw new AssertionError("replay with seed " + seed + ": " + e.getMessage(), e);
        }
    }

    @Test
    void readErrorsComeAsAnErrorChunkNeverASimpleReply() throws IOException {
        assertErrorChunk(request(READ, 0, SIZE - 100, 200), NbdError.EINVAL);
        assertErrorChunk(request(READ, 0, 0, 0), NbdError.EINVAL);
        assertErrorChunk(request(READ, 0, 0, (32 << 20) + 1), NbdError.EINVAL);
        assertErrorChunk(request(READ, 0, 0, 0xFFFF_FFFFL), NbdError.EINVAL);
        assertErrorChunk(request(READ, CommandFlag.REQ_ONE.bit(), 0, 512), NbdError.EINVAL);
        assertErrorChunk(request(READ, 1 << 15, 0, 512), NbdError.EINVAL);
        assertErrorChunk(request(READ, 0, Long.MIN_VALUE, 512), NbdError.EINVAL);
        assertThat(reassemble(request(READ, 0, 0, 512), 0, 512).data()).containsOnly(0);
    }

    @Test
    void otherCommandsStillReportErrors() throws IOException {
        long cookie = nextCookie++;
        client.write(cookie, SIZE - 10, new byte[20]);
        assertThat(client.readError(cookie)).isEqualTo(NbdError.ENOSPC.wire());
        client.request(WRITE, 1 << 14, ++cookie, 0, 0);
        assertThat(client.readError(cookie)).isEqualTo(NbdError.EINVAL.wire());
    }

    @Test
    void blockStatusWithReqOneHasOneDescriptorWithinTheRequest() throws IOException {
        write(PAGE, pattern(PAGE, 6));

        List<long[]> first = descriptors(single(request(BLOCK_STATUS, CommandFlag.REQ_ONE.bit(), 0, 1 << 20)));
        assertThat(first).singleElement().satisfies(d -> {
            assertThat(d[0]).isEqualTo(PAGE);
            assertThat(d[1]).isEqualTo(HOLE_AND_ZERO);
        });

        List<long[]> inside = descriptors(single(request(BLOCK_STATUS, CommandFlag.REQ_ONE.bit(), PAGE + 512, 4096)));
        assertThat(inside).singleElement().satisfies(d -> {
            assertThat(d[0]).isEqualTo(4096);
            assertThat(d[1]).isZero();
        });

        List<long[]> huge = descriptors(single(request(BLOCK_STATUS, CommandFlag.REQ_ONE.bit(), 4L << 30,
                0xFFFF_FFFFL)));
        assertThat(huge).singleElement().satisfies(d -> assertThat(d[0]).isEqualTo(0xFFFF_FFFFL));
    }

    @Test
    void blockStatusDescriptorsAreContiguousAndCoverTheRequest() throws IOException {
        write(PAGE, pattern(PAGE, 7));
        write(4 * PAGE, pattern(2 * PAGE, 8));

        long length = 0xFFFF_FFFFL;
        List<long[]> descriptors = descriptors(single(request(BLOCK_STATUS, 0, 100, length)));

        long sum = 0;
        for (int i = 0; i < descriptors.size(); i++) {
            long[] d = descriptors.get(i);
            if (i < descriptors.size() - 1) {
                assertThat(sum + d[0]).as("descriptors before the last end inside the request").isLessThan(length);
            }
            boolean zero = (d[1] & TransmissionReplies.STATE_ZERO) != 0;
            if (zero && 100 + sum < model.length) {
                int end = (int) Math.min(model.length, 100 + sum + d[0]);
                assertThat(model(100 + (int) sum, end - 100 - (int) sum)).as("descriptor %d reads as zero", i)
                        .containsOnly(0);
            }
            sum += d[0];
        }
        assertThat(sum).isLessThanOrEqualTo(length);
        assertThat(descriptors).extracting(d -> d[1]).containsExactly((long) HOLE_AND_ZERO, 0L,
                (long) HOLE_AND_ZERO, 0L, (long) HOLE_AND_ZERO);
        assertThat(descriptors).extracting(d -> d[0]).startsWith(PAGE - 100L, (long) PAGE, 2L * PAGE, 2L * PAGE);
    }

    @Test
    void blockStatusErrorsComeAsErrorChunks() throws IOException {
        assertErrorChunk(request(BLOCK_STATUS, 0, SIZE - 100, 200), NbdError.EINVAL);
        assertErrorChunk(request(BLOCK_STATUS, 0, 0, 0), NbdError.EINVAL);
        assertErrorChunk(request(BLOCK_STATUS, CommandFlag.DF.bit(), 0, 512), NbdError.EINVAL);
    }

    @Test
    void sparseReadWithMoreRunsThanChunksStillCoversTheRequest() throws IOException {
        int pages = 140;
        byte[] expected = new byte[pages * PAGE];
        for (int page = 0; page < pages; page += 2) {
            byte[] data = pattern(512, page);
            long cookie = nextCookie++;
            client.write(cookie, (long) page * PAGE + 1000, data);
            assertThat(client.readError(cookie)).isZero();
            System.arraycopy(data, 0, expected, page * PAGE + 1000, data.length);
        }

        Reassembled read = reassemble(request(READ, 0, 0, expected.length), 0, expected.length);

        assertThat(read.data()).isEqualTo(expected);
        assertThat(read.holeChunks()).isPositive();
    }

    @Test
    void deviceFailureOnReadOrBlockStatusIsAnErrorChunk() throws IOException {
        stillServesOthers();
        serve(dir.resolve("faulty"), new FaultyDevice(MemoryBlockDevice.create(1 << 20), PAGE, 2 * PAGE, false));

        assertErrorChunk(request(READ, 0, 0, 4 * PAGE), NbdError.EIO);
        assertErrorChunk(request(READ, CommandFlag.DF.bit(), PAGE + 10, 10), NbdError.EIO);
        assertErrorChunk(request(BLOCK_STATUS, 0, PAGE, PAGE), NbdError.EIO);
        assertThat(reassemble(request(READ, 0, 2 * PAGE, PAGE), 2 * PAGE, PAGE).data()).containsOnly(0);
    }

    private static Chunk single(List<Chunk> chunks) {
        assertThat(chunks).as("one BLOCK_STATUS chunk for one context").hasSize(1);
        assertThat(chunks.getFirst().done()).isTrue();
        return chunks.getFirst();
    }
}
