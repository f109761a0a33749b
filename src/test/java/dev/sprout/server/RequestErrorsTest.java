package dev.sprout.server;

import static dev.sprout.server.RawNbdClient.BLOCK_STATUS;
import static dev.sprout.server.RawNbdClient.CACHE;
import static dev.sprout.server.RawNbdClient.FLUSH;
import static dev.sprout.server.RawNbdClient.READ;
import static dev.sprout.server.RawNbdClient.TRIM;
import static dev.sprout.server.RawNbdClient.WRITE;
import static dev.sprout.server.RawNbdClient.WRITE_ZEROES;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.Capabilities;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.layer.ReadOnlyDevice;
import dev.sprout.nbd.CommandFlag;
import dev.sprout.nbd.NbdError;
import dev.sprout.nbd.TransmissionFlag;
import dev.sprout.nbd.WireBytes;
import dev.sprout.server.RawNbdClient.SimpleReply;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Transmission requests the server must refuse, in raw bytes with simple replies (proto.md:
 * "Error values", "Request types"): each gets the error the spec names and leaves the stream in
 * step, or, once framing is lost, a clean disconnect; after every test a fresh client is served.
 */
@Timeout(60)
class RequestErrorsTest {

    /** A large sparse export: lengths up to 4 GiB - 1 and reads above 32 MiB fit inside it. */
    private static final long SIZE = 8L << 30;
    private static final int MAX_PAYLOAD = 32 << 20;

    @TempDir
    Path dir;

    private RunningServer server;

    @BeforeEach
    void start() throws IOException {
        server = RunningServer.start(dir, MemoryBlockDevice.create(SIZE));
    }

    @AfterEach
    void stillServesOthers() throws IOException {
        try (RunningServer running = server) {
            running.assertServesAnotherClient();
        }
    }

    private static void expectError(RawNbdClient client, long cookie, NbdError error) throws IOException {
        assertThat(client.readSimpleReply()).isEqualTo(new SimpleReply(error.wire(), cookie));
    }

    private static void expectSuccess(RawNbdClient client, long cookie) throws IOException {
        assertThat(client.readSimpleReply()).isEqualTo(new SimpleReply(0, cookie));
    }

    /** Proves the stream is still in step: a fresh READ gets its own reply and data. */
    private static void assertInStep(RawNbdClient client) throws IOException {
        client.request(READ, 0, 0x600d, 0, 4096);
        assertThat(client.readData(0x600d, 4096)).hasSize(4096);
    }

    private static byte[] pattern(int length, int seed) {
        byte[] data = new byte[length];
        for (int i = 0; i < length; i++) {
            data[i] = (byte) (i * 31 + seed | 1);
        }
        return data;
    }

    @Test
    void badRequestMagicDisconnects() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            byte[] header = RawNbdClient.header(READ, 0, 1, 0, 512);
            header[3] ^= 1;
            client.send(header);
            client.expectClosed();
        }
    }

    @Test
    void unknownCommandIsEinval() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            long cookie = 1;
            for (int type : new int[] {8, 9, 0x7fff, 0xffff}) {
                client.request(type, 0, cookie, 0, 4096);
                expectError(client, cookie++, NbdError.EINVAL);
            }
            assertInStep(client);
        }
    }

    @Test
    void unknownOrMisplacedFlagIsEinval() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            int[][] cases = {{READ, 1 << 15}, {READ, CommandFlag.NO_HOLE.bit()}, {READ, CommandFlag.REQ_ONE.bit()},
                {TRIM, CommandFlag.FAST_ZERO.bit()}, {CACHE, CommandFlag.DF.bit()}, {FLUSH, 1 << 6},
                {WRITE_ZEROES, CommandFlag.DF.bit()}, {READ, CommandFlag.PAYLOAD_LEN.bit()}};
            long cookie = 100;
            for (int[] c : cases) {
                client.request(c[0], c[1], cookie, 0, 4096);
                expectError(client, cookie++, NbdError.EINVAL);
            }
            assertInStep(client);
        }
    }

    @Test
    void writeWithAnUnknownFlagIsEinvalAndItsPayloadConsumed() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            byte[] data = pattern(4096, 1);
            client.send(new WireBytes().raw(RawNbdClient.header(WRITE, CommandFlag.NO_HOLE.bit(), 7, 0, 4096))
                    .raw(data).bytes());
            expectError(client, 7, NbdError.EINVAL);
            assertInStep(client);
        }
    }

    @Test
    void fuaIsAcceptedOnEveryCommand() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            int fua = CommandFlag.FUA.bit();
            client.send(new WireBytes().raw(RawNbdClient.header(WRITE, fua, 1, 0, 512)).raw(pattern(512, 2)).bytes());
            expectSuccess(client, 1);
            client.request(READ, fua, 2, 0, 512);
            assertThat(client.readData(2, 512)).isEqualTo(pattern(512, 2));
            for (int type : new int[] {FLUSH, TRIM, CACHE, WRITE_ZEROES}) {
                client.request(type, fua, 10 + type, 4096, 4096);
                expectSuccess(client, 10 + type);
            }
        }
    }

    @Test
    void zeroLengthRequestsAreEinvalNotDisconnects() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            long cookie = 20;
            for (int type : new int[] {READ, WRITE, TRIM, WRITE_ZEROES, CACHE}) {
                client.request(type, 0, cookie, 4096, 0);
                expectError(client, cookie++, NbdError.EINVAL);
            }
            assertInStep(client);
        }
    }

    @Test
    void readPastTheEndIsEinval() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            client.request(READ, 0, 1, SIZE, 512);
            expectError(client, 1, NbdError.EINVAL);
            client.request(READ, 0, 2, SIZE - 256, 512);
            expectError(client, 2, NbdError.EINVAL);
            client.request(READ, 0, 3, SIZE - 512, 512);
            assertThat(client.readData(3, 512)).containsOnly(0);
        }
    }

    @Test
    void writePastTheEndIsEnospcAndItsPayloadConsumed() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            client.write(1, SIZE - 256, pattern(512, 3));
            expectError(client, 1, NbdError.ENOSPC);
            client.write(2, SIZE, pattern(4096, 3));
            expectError(client, 2, NbdError.ENOSPC);
            assertInStep(client);
            client.write(3, SIZE - 512, pattern(512, 4));
            expectSuccess(client, 3);
        }
    }

    @Test
    void otherRangesPastTheEndGetTheErrorsProtoMdNames() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            client.request(WRITE_ZEROES, 0, 1, SIZE - 256, 512);
            expectError(client, 1, NbdError.ENOSPC);
            client.request(TRIM, 0, 2, SIZE - 256, 512);
            expectError(client, 2, NbdError.EINVAL);
            client.request(CACHE, 0, 3, SIZE, 1);
            expectError(client, 3, NbdError.EINVAL);
            assertInStep(client);
        }
    }

    @Test
    void offsetWithTheTopBitSetIsRefused() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            long top = 0x8000_0000_0000_0000L;
            client.request(READ, 0, 1, top, 512);
            expectError(client, 1, NbdError.EINVAL);
            client.request(TRIM, 0, 2, top | 4096, 4096);
            expectError(client, 2, NbdError.EINVAL);
            client.request(CACHE, 0, 3, -512, 1024);
            expectError(client, 3, NbdError.EINVAL);
            client.request(READ, 0, 4, -512, 1024);
            expectError(client, 4, NbdError.EINVAL);
            // proto.md: writes beyond the end are ENOSPC, and 2^63 lies beyond any end
            client.write(5, top, pattern(512, 5));
            expectError(client, 5, NbdError.ENOSPC);
            client.request(WRITE_ZEROES, 0, 6, top, 512);
            expectError(client, 6, NbdError.ENOSPC);
            assertInStep(client);
        }
    }

    @Test
    void modificationsOfAReadOnlyExportAreEperm() throws IOException {
        server.close();
        server = RunningServer.start(dir.resolve("ro"), new ReadOnlyDevice(MemoryBlockDevice.create(1 << 20)));
        try (RawNbdClient client = server.negotiated(false, false)) {
            client.write(1, 0, pattern(4096, 6));
            expectError(client, 1, NbdError.EPERM);
            client.request(TRIM, 0, 2, 0, 4096);
            expectError(client, 2, NbdError.EPERM);
            client.request(WRITE_ZEROES, 0, 3, 0, 4096);
            expectError(client, 3, NbdError.EPERM);
            client.request(FLUSH, 0, 4, 0, 0);
            expectSuccess(client, 4);
            client.request(READ, 0, 5, 0, 4096);
            assertThat(client.readData(5, 4096)).containsOnly(0);
        }
    }

    @Test
    void readLongerThan32MiBIsEinval() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            client.request(READ, 0, 1, 0, MAX_PAYLOAD + 1L);
            expectError(client, 1, NbdError.EINVAL);
            client.request(READ, 0, 2, 0, 0xFFFF_FFFFL);
            expectError(client, 2, NbdError.EINVAL);
            client.request(READ, 0, 3, 0, MAX_PAYLOAD);
            assertThat(client.readData(3, MAX_PAYLOAD)).hasSize(MAX_PAYLOAD);
        }
    }

    @Test
    void writeLongerThan32MiBIsEinvalWithItsPayloadSkipped() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            byte[] payload = new byte[MAX_PAYLOAD + 1];
            Arrays.fill(payload, (byte) 0x55);
            client.send(new WireBytes().raw(RawNbdClient.header(WRITE, 0, 1, 0, payload.length)).raw(payload).bytes());
            expectError(client, 1, NbdError.EINVAL);
            client.request(READ, 0, 2, 0, 4096);
            assertThat(client.readData(2, 4096)).as("nothing of the refused write landed").containsOnly(0);
        }
    }

    @Test
    void blockStatusWithoutANegotiatedContextIsEinval() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            client.request(BLOCK_STATUS, 0, 1, 0, 4096);
            expectError(client, 1, NbdError.EINVAL);
            assertInStep(client);
        }
    }

    @Test
    void dontFragmentWithoutStructuredRepliesIsEinval() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            client.request(READ, CommandFlag.DF.bit(), 1, 0, 4096);
            expectError(client, 1, NbdError.EINVAL);
            assertInStep(client);
        }
    }

    @Test
    void fastZeroOnADeviceWithoutFastZeroIsEinval() throws IOException {
        server.close();
        server = RunningServer.start(dir.resolve("slow"), new SlowZeroDevice(MemoryBlockDevice.create(1 << 20)));
        try (RawNbdClient client = server.connect()) {
            client.handshake();
            int flags = client.go("").flags();
            assertThat(TransmissionFlag.SEND_FAST_ZERO.in(flags)).isFalse();
            assertThat(TransmissionFlag.SEND_WRITE_ZEROES.in(flags)).isTrue();

            client.request(WRITE_ZEROES, CommandFlag.FAST_ZERO.bit(), 1, 0, 4096);
            expectError(client, 1, NbdError.EINVAL);
            client.request(WRITE_ZEROES, CommandFlag.NO_HOLE.bit(), 2, 0, 4096);
            expectSuccess(client, 2);
        }
    }

    @Test
    void fastZeroIsServedWhereOffered() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            client.write(1, 8192, pattern(4096, 7));
            expectSuccess(client, 1);
            client.request(WRITE_ZEROES, CommandFlag.FAST_ZERO.bit() | CommandFlag.NO_HOLE.bit(), 2, 8192, 4096);
            expectSuccess(client, 2);
            client.request(READ, 0, 3, 8192, 4096);
            assertThat(client.readData(3, 4096)).containsOnly(0);
        }
    }

    @Test
    void lengthsUpTo4GiBMinus1AreUnsigned() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            long offset = 0xFFFF_FFFFL - 1024;
            client.write(1, offset, pattern(1024, 8));
            expectSuccess(client, 1);
            client.request(TRIM, 0, 2, 0, 0xFFFF_FFFFL);
            expectSuccess(client, 2);
            client.request(READ, 0, 3, offset, 1024);
            assertThat(client.readData(3, 1024)).as("trimmed memory reads as zeroes").containsOnly(0);
            client.request(WRITE_ZEROES, 0, 4, 4L << 30, 0xFFFF_FFFFL);
            expectSuccess(client, 4);
            client.request(CACHE, 0, 5, SIZE - 0xFFFF_FFFFL, 0xFFFF_FFFFL);
            expectSuccess(client, 5);
        }
    }

    @Test
    void truncatedRequestHeaderThenEndOfInputClosesCleanly() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            client.send(new WireBytes().raw(RawNbdClient.header(READ, 0, 1, 0, 512), 0, 17).bytes());
            client.shutdownOutput();
            client.expectClosed();
        }
    }

    @Test
    void truncatedWritePayloadThenEndOfInputClosesCleanly() throws IOException {
        try (RawNbdClient client = server.negotiated(false, false)) {
            client.send(new WireBytes().raw(RawNbdClient.header(WRITE, 0, 1, 0, 4096)).raw(new byte[100]).bytes());
            client.shutdownOutput();
            client.expectClosed();
        }
    }

    @Test
    void abruptCloseMidRequestLeavesTheServerServing() throws IOException {
        // The assertion is stillServesOthers(): the server survives a client vanishing mid-payload.
        try (RawNbdClient client = server.negotiated(false, false)) {
            client.send(new WireBytes().raw(RawNbdClient.header(WRITE, 0, 1, 0, 1 << 20)).raw(new byte[4096]).bytes());
        }
    }

    @Test
    void deviceFailureIsEioWithoutAnyData() throws IOException {
        server.close();
        server = RunningServer.start(dir.resolve("faulty"),
                new FaultyDevice(MemoryBlockDevice.create(1 << 20), 1 << 19, (1 << 19) + 4096, false));
        try (RawNbdClient client = server.negotiated(false, false)) {
            client.request(READ, 0, 1, (1 << 19) - 100, 200);
            expectError(client, 1, NbdError.EIO);
            assertInStep(client);
        }
    }

    @Test
    void unexpectedFailureInsideTheDeviceIsEioAndTheConnectionLives() throws IOException {
        server.close();
        server = RunningServer.start(dir.resolve("buggy"),
                new FaultyDevice(MemoryBlockDevice.create(1 << 20), 1 << 19, (1 << 19) + 4096, true));
        try (RawNbdClient client = server.negotiated(false, false)) {
            client.request(READ, 0, 1, 1 << 19, 4096);
            expectError(client, 1, NbdError.EIO);
            assertInStep(client);
        }
    }

    /** A device whose zeroing is no faster than writing, so it must not promise FAST_ZERO. */
    private static final class SlowZeroDevice extends ForwardingBlockDevice {

        SlowZeroDevice(BlockDevice in) {
            super(in);
        }

        @Override
        public Capabilities capabilities() {
            Capabilities c = in.capabilities();
            return new Capabilities(c.writable(), c.flush(), c.fua(), c.trim(), false, false, c.cache(),
                    c.multiConn(), c.extents(), c.blockSizes());
        }
    }
}
