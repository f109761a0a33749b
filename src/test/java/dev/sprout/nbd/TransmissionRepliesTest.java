package dev.sprout.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * Transmission replies byte for byte as proto.md lays them out ("Simple reply message",
 * "Structured reply chunk message", "Structured reply types").
 */
class TransmissionRepliesTest {

    private static final long COOKIE = 0x0102030405060708L;
    private static final String COOKIE_HEX = "0102030405060708";

    private static String hex(ByteBuffer out) {
        return HexFormat.of().formatHex(WireBytes.remaining(out.flip()));
    }

    @Test
    void simpleReplyWithoutError() {
        ByteBuffer out = ByteBuffer.allocate(TransmissionReplies.SIMPLE_HEADER_SIZE);
        TransmissionReplies.simple(out, null, COOKIE);

        assertThat(out.hasRemaining()).isFalse();
        assertThat(hex(out)).isEqualTo("67446698" + "00000000" + COOKIE_HEX);
    }

    @Test
    void simpleReplyCarriesTheErrorValue() {
        ByteBuffer out = ByteBuffer.allocate(TransmissionReplies.SIMPLE_HEADER_SIZE);
        TransmissionReplies.simple(out, NbdError.ENOSPC, -1L);

        assertThat(hex(out)).isEqualTo("67446698" + "0000001c" + "ffffffffffffffff");
    }

    @Test
    void offsetDataHeaderCountsTheOffsetInItsLength() {
        ByteBuffer out = ByteBuffer.allocate(TransmissionReplies.CHUNK_HEADER_SIZE + 8);
        TransmissionReplies.offsetDataHeader(out, false, COOKIE, 0x8000_0000_0000_0000L, 4096);

        assertThat(out.hasRemaining()).isFalse();
        assertThat(hex(out)).isEqualTo("668e33ef" + "0000" + "0001" + COOKIE_HEX + "00001008" + "8000000000000000");
    }

    @Test
    void finalOffsetDataHeaderHasTheDoneFlag() {
        ByteBuffer out = ByteBuffer.allocate(TransmissionReplies.CHUNK_HEADER_SIZE + 8);
        TransmissionReplies.offsetDataHeader(out, true, COOKIE, 512, 1);

        assertThat(hex(out)).isEqualTo("668e33ef" + "0001" + "0001" + COOKIE_HEX + "00000009" + "0000000000000200");
    }

    @Test
    void offsetHoleIsTwelveBytesOfOffsetAndSize() {
        ByteBuffer out = ByteBuffer.allocate(TransmissionReplies.CHUNK_HEADER_SIZE + 12);
        TransmissionReplies.offsetHole(out, false, COOKIE, 0x10000, 0xFFFF_FFFF);

        assertThat(out.hasRemaining()).isFalse();
        assertThat(hex(out)).isEqualTo("668e33ef" + "0000" + "0002" + COOKIE_HEX + "0000000c"
                + "0000000000010000" + "ffffffff");
    }

    @Test
    void noneChunkIsFinalAndEmpty() {
        ByteBuffer out = ByteBuffer.allocate(TransmissionReplies.CHUNK_HEADER_SIZE);
        TransmissionReplies.none(out, COOKIE);

        assertThat(hex(out)).isEqualTo("668e33ef" + "0001" + "0000" + COOKIE_HEX + "00000000");
    }

    @Test
    void errorChunkIsFinalWithErrorLengthAndMessage() {
        ByteBuffer out = ByteBuffer.allocate(TransmissionReplies.errorChunkSize("bad"));
        TransmissionReplies.error(out, COOKIE, NbdError.EINVAL, "bad");

        assertThat(out.hasRemaining()).isFalse();
        assertThat(hex(out)).isEqualTo("668e33ef" + "0001" + "8001" + COOKIE_HEX + "00000009"
                + "00000016" + "0003" + "626164");
    }

    @Test
    void errorChunkWithEmptyMessage() {
        ByteBuffer out = ByteBuffer.allocate(TransmissionReplies.errorChunkSize(""));
        TransmissionReplies.error(out, COOKIE, NbdError.EIO, "");

        assertThat(hex(out)).isEqualTo("668e33ef" + "0001" + "8001" + COOKIE_HEX + "00000006" + "00000005" + "0000");
    }

    @Test
    void errorMessageOfExactlyTheLimitIsKept() {
        String message = "m".repeat(TransmissionReplies.MAX_ERROR_MESSAGE);

        assertThat(errorMessage(message)).isEqualTo(message.getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void longAsciiErrorMessageIsCutTo200Bytes() {
        byte[] message = errorMessage("x".repeat(5000));

        assertThat(message).hasSize(200).containsOnly('x');
    }

    @Test
    void longErrorMessageIsCutBeforeATwoOrThreeByteCharacter() throws CharacterCodingException {
        String message = "a" + "\u20ac".repeat(100);
        byte[] cut = errorMessage(message);

        assertThat(cut).hasSize(1 + 3 * 66);
        assertThat(strictUtf8(cut)).isEqualTo("a" + "\u20ac".repeat(66));
        assertThat(errorMessage("\u00e9".repeat(150))).hasSize(200);
    }

    @Test
    void longErrorMessageIsCutBeforeAFourByteCharacter() throws CharacterCodingException {
        String message = "a" + "\ud83d\ude00".repeat(60);
        byte[] cut = errorMessage(message);

        assertThat(cut).hasSize(1 + 4 * 49);
        assertThat(cut).isEqualTo(Arrays.copyOf(message.getBytes(StandardCharsets.UTF_8), cut.length));
        assertThat(strictUtf8(cut)).isEqualTo("a" + "\ud83d\ude00".repeat(49));
    }

    @Test
    void everyCutErrorMessageIsValidUtf8AndAtMost200Bytes() throws CharacterCodingException {
        String[] alphabet = {"a", "\u00e9", "\u20ac", "\ud83d\ude00"};
        for (int prefix = 0; prefix < 4; prefix++) {
            for (String letter : alphabet) {
                String message = "p".repeat(prefix) + letter.repeat(300);
                byte[] cut = errorMessage(message);
                assertThat(cut.length).as("%d + %s", prefix, letter).isLessThanOrEqualTo(200).isGreaterThan(196);
                assertThat(strictUtf8(cut)).as("%d + %s", prefix, letter).isNotEmpty();
            }
        }
    }

    @Test
    void blockStatusChunkHasContextThenDescriptors() {
        ByteBuffer out = ByteBuffer.allocate(TransmissionReplies.CHUNK_HEADER_SIZE + 4 + 16);
        TransmissionReplies.blockStatusHeader(out, true, COOKIE, 1, 2);
        TransmissionReplies.blockStatusDescriptor(out, 0x10000, 0);
        TransmissionReplies.blockStatusDescriptor(out, 0xFFFF_0000,
                TransmissionReplies.STATE_HOLE | TransmissionReplies.STATE_ZERO);

        assertThat(out.hasRemaining()).isFalse();
        assertThat(hex(out)).isEqualTo("668e33ef" + "0001" + "0005" + COOKIE_HEX + "00000014" + "00000001"
                + "00010000" + "00000000" + "ffff0000" + "00000003");
    }

    @Test
    void baseAllocationStateBits() {
        assertThat(TransmissionReplies.STATE_HOLE).isEqualTo(1);
        assertThat(TransmissionReplies.STATE_ZERO).isEqualTo(2);
    }

    /** The message bytes of an error chunk, checking the chunk's lengths agree with them. */
    private static byte[] errorMessage(String message) {
        int size = TransmissionReplies.errorChunkSize(message);
        ByteBuffer out = ByteBuffer.allocate(size);
        TransmissionReplies.error(out, COOKIE, NbdError.EIO, message);
        assertThat(out.hasRemaining()).as("errorChunkSize matches what error writes").isFalse();
        out.flip();
        assertThat(out.getInt(16)).as("chunk length").isEqualTo(size - TransmissionReplies.CHUNK_HEADER_SIZE);
        int length = Short.toUnsignedInt(out.getShort(24));
        assertThat(length).isEqualTo(size - TransmissionReplies.CHUNK_HEADER_SIZE - 6);
        byte[] text = new byte[length];
        out.get(26, text);
        return text;
    }

    private static String strictUtf8(byte[] bytes) throws CharacterCodingException {
        return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
    }
}
