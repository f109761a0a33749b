package dev.sprout.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Request headers decoded from byte fixtures (proto.md: "Request message"). */
class RequestTest {

    /** magic, flags, type, cookie, offset, length: the header of proto.md, field by field. */
    private static ByteBuffer header(String magic, String flags, String type, String cookie, String offset,
                                     String length) {
        return ByteBuffer.wrap(HexFormat.of().parseHex(magic + flags + type + cookie + offset + length));
    }

    private static Request decode(String flags, String type, String cookie, String offset, String length)
            throws ProtocolException {
        ByteBuffer header = header("25609513", flags, type, cookie, offset, length);
        Request request = Request.decode(header);
        assertThat(header.position()).as("bytes consumed").isEqualTo(Request.HEADER_SIZE);
        return request;
    }

    @ParameterizedTest(name = "type {0} is {1}")
    @CsvSource({"0000, Read", "0001, Write", "0002, Disconnect", "0003, Flush", "0004, Trim", "0005, Cache",
        "0006, WriteZeroes", "0007, BlockStatus"})
    void decodesEveryCommandWithItsFields(String type, String record) throws ProtocolException {
        Request request = decode("0001", type, "0102030405060708", "0000000000010000", "00001000");

        assertThat(request.getClass().getSimpleName()).isEqualTo(record);
        assertThat(request.flags()).isEqualTo(CommandFlag.FUA.bit());
        assertThat(request.cookie()).isEqualTo(0x0102030405060708L);
        assertThat(request.offset()).isEqualTo(0x10000);
        assertThat(request.length()).isEqualTo(4096);
    }

    @Test
    void namesEveryCommandForLogs() throws ProtocolException {
        String[] names = {"READ", "WRITE", "DISC", "FLUSH", "TRIM", "CACHE", "WRITE_ZEROES", "BLOCK_STATUS"};
        for (int type = 0; type < names.length; type++) {
            Request request = decode("0000", String.format("%04x", type), "0000000000000000",
                    "0000000000000000", "00000000");
            assertThat(Request.name(request)).isEqualTo(names[type]);
        }
    }

    @Test
    void readsFlagsAndTypeAsTwoUnsigned16BitFields() throws ProtocolException {
        Request request = decode("ffff", "ffff", "0000000000000001", "0000000000000000", "00000000");

        assertThat(request).isEqualTo(new Request.Unknown(0xffff, 1, 0xffff, 0, 0));
        assertThat(Request.name(request)).isEqualTo("UNKNOWN(65535)");
    }

    @Test
    void keepsFlagsAndTypeApartWhenTheTypeHasItsHighBitSet() throws ProtocolException {
        Request request = decode("0004", "8000", "0000000000000000", "0000000000000000", "00000000");

        assertThat(request).isEqualTo(new Request.Unknown(0x8000, 0, CommandFlag.DF.bit(), 0, 0));
    }

    @Test
    void unknownTypeJustAboveTheKnownOnesIsUnknown() throws ProtocolException {
        assertThat(decode("0000", "0008", "0000000000000000", "0000000000000000", "00000000"))
                .isInstanceOf(Request.Unknown.class);
    }

    @Test
    void readsLengthAsUnsigned32Bits() throws ProtocolException {
        Request request = decode("0000", "0004", "0000000000000000", "0000000000000000", "ffffffff");

        assertThat(request.length()).isEqualTo(0xFFFF_FFFFL);
    }

    @Test
    void lengthWithTheTopBitSetStaysPositive() throws ProtocolException {
        Request request = decode("0000", "0000", "0000000000000000", "0000000000000000", "80000000");

        assertThat(request.length()).isEqualTo(0x8000_0000L);
    }

    @Test
    void keepsAllSixtyFourBitsOfAnOffsetWithTheTopBitSet() throws ProtocolException {
        Request request = decode("0000", "0000", "ffffffffffffffff", "8000000000000200", "00000200");

        assertThat(request.offset()).isEqualTo(0x8000_0000_0000_0200L);
        assertThat(request.offset()).as("signed view that range checks must reject").isNegative();
        assertThat(request.cookie()).isEqualTo(-1L);
    }

    @Test
    void decodesAtTheBuffersPositionAndLeavesTheRest() throws ProtocolException {
        byte[] fixture = HexFormat.of().parseHex("aabb" + "25609513" + "0000" + "0003" + "00000000000000aa"
                + "0000000000000000" + "00000000" + "ccdd");
        ByteBuffer buffer = ByteBuffer.wrap(fixture).position(2);

        assertThat(Request.decode(buffer)).isEqualTo(new Request.Flush(0xaa, 0, 0, 0));
        assertThat(buffer.position()).isEqualTo(2 + Request.HEADER_SIZE);
        assertThat(buffer.remaining()).isEqualTo(2);
    }

    @Test
    void rejectsBadMagicAsALossOfFraming() {
        ByteBuffer header = header("25609514", "0000", "0000", "0000000000000000", "0000000000000000", "00000000");

        assertThatThrownBy(() -> Request.decode(header))
                .isInstanceOf(ProtocolException.class)
                .hasMessageContaining("0x25609514");
    }

    @Test
    void rejectsSimpleReplyMagicInARequest() {
        ByteBuffer header = header("67446698", "0000", "0000", "0000000000000000", "0000000000000000", "00000000");

        assertThatThrownBy(() -> Request.decode(header)).isInstanceOf(ProtocolException.class);
    }

    @Test
    void encodesTheSameBytesItDecodes() {
        ByteBuffer out = ByteBuffer.allocate(Request.HEADER_SIZE);
        Request.encode(out, 7, CommandFlag.REQ_ONE.bit(), 0x1122334455667788L, 0x8000000000000000L, 0xFFFF_FFFFL);

        assertThat(HexFormat.of().formatHex(out.array()))
                .isEqualTo("25609513" + "0008" + "0007" + "1122334455667788" + "8000000000000000" + "ffffffff");
    }

    @Test
    void allowsExactlyTheFlagsProtoMdDocumentsPerCommand() throws ProtocolException {
        int fua = CommandFlag.FUA.bit();
        assertThat(requestOfType(0).allowedFlags()).isEqualTo(fua | CommandFlag.DF.bit());
        assertThat(requestOfType(1).allowedFlags()).isEqualTo(fua);
        assertThat(requestOfType(2).allowedFlags()).isEqualTo(fua);
        assertThat(requestOfType(3).allowedFlags()).isEqualTo(fua);
        assertThat(requestOfType(4).allowedFlags()).isEqualTo(fua);
        assertThat(requestOfType(5).allowedFlags()).isEqualTo(fua);
        assertThat(requestOfType(6).allowedFlags())
                .isEqualTo(fua | CommandFlag.NO_HOLE.bit() | CommandFlag.FAST_ZERO.bit());
        assertThat(requestOfType(7).allowedFlags()).isEqualTo(fua | CommandFlag.REQ_ONE.bit());
        assertThat(requestOfType(8).allowedFlags()).isZero();
    }

    @Test
    void reportsWhichFlagsARequestCarries() throws ProtocolException {
        Request request = decode("0011", "0006", "0000000000000000", "0000000000000000", "00000001");

        assertThat(request.has(CommandFlag.FUA)).isTrue();
        assertThat(request.has(CommandFlag.FAST_ZERO)).isTrue();
        assertThat(request.has(CommandFlag.NO_HOLE)).isFalse();
    }

    private static Request requestOfType(int type) throws ProtocolException {
        return decode("0000", String.format("%04x", type), "0000000000000000", "0000000000000000", "00000000");
    }
}
