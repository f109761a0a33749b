package dev.sprout.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** Option replies byte for byte (proto.md: "Fixed newstyle negotiation", "Option reply types"). */
class OptionRepliesTest {

    private static final String MAGIC = "0003e889045565a9";

    private static String hex(ByteBuffer reply) {
        assertThat(reply.position()).as("ready to send").isZero();
        return HexFormat.of().formatHex(WireBytes.remaining(reply));
    }

    @Test
    void ackEchoesTheOptionWithNoData() {
        assertThat(hex(OptionReplies.ack(OptionType.STRUCTURED_REPLY.wire())))
                .isEqualTo(MAGIC + "00000008" + "00000001" + "00000000");
    }

    @Test
    void errorCarriesItsMessageAsData() {
        assertThat(hex(OptionReplies.error(99, OptionReplyType.ERR_UNSUP, "no")))
                .isEqualTo(MAGIC + "00000063" + "80000001" + "00000002" + "6e6f");
    }

    @Test
    void errorEchoesAnOptionWithItsTopBitSet() {
        assertThat(hex(OptionReplies.error(0x80000001, OptionReplyType.ERR_TOO_BIG, "")))
                .isEqualTo(MAGIC + "80000001" + "80000009" + "00000000");
    }

    @Test
    void serverReplyHasNameLengthNameAndDescription() {
        assertThat(hex(OptionReplies.server(3, "disk", "a \u20ac")))
                .isEqualTo(MAGIC + "00000003" + "00000002" + "0000000d" + "00000004" + "6469736b" + "6120e282ac");
    }

    @Test
    void serverReplyForTheDefaultExportWithoutDescription() {
        assertThat(hex(OptionReplies.server(3, "", "")))
                .isEqualTo(MAGIC + "00000003" + "00000002" + "00000004" + "00000000");
    }

    @Test
    void infoExportIsTwelveBytesOfTypeSizeAndFlags() {
        assertThat(hex(OptionReplies.infoExport(7, 0xFFFF_FFFF_FFFF_FFFFL, (short) 0x8d6d)))
                .isEqualTo(MAGIC + "00000007" + "00000003" + "0000000c" + "0000" + "ffffffffffffffff" + "8d6d");
    }

    @Test
    void infoNameIsTypeThenName() {
        assertThat(hex(OptionReplies.infoText(6, InfoType.NAME, "disk")))
                .isEqualTo(MAGIC + "00000006" + "00000003" + "00000006" + "0001" + "6469736b");
    }

    @Test
    void infoNameOfTheDefaultExportIsJustTheType() {
        assertThat(hex(OptionReplies.infoText(6, InfoType.NAME, "")))
                .isEqualTo(MAGIC + "00000006" + "00000003" + "00000002" + "0001");
    }

    @Test
    void infoDescriptionIsTypeThenUtf8Text() {
        assertThat(hex(OptionReplies.infoText(7, InfoType.DESCRIPTION, "\u00e9")))
                .isEqualTo(MAGIC + "00000007" + "00000003" + "00000004" + "0002" + "c3a9");
    }

    @Test
    void infoBlockSizeIsFourteenBytes() {
        assertThat(hex(OptionReplies.infoBlockSize(7, 1, 4096, 32 << 20)))
                .isEqualTo(MAGIC + "00000007" + "00000003" + "0000000e" + "0003" + "00000001" + "00001000"
                        + "02000000");
    }

    @Test
    void metaContextIsIdThenName() {
        assertThat(hex(OptionReplies.metaContext(10, 1, "base:allocation")))
                .isEqualTo(MAGIC + "0000000a" + "00000004" + "00000013" + "00000001"
                        + HexFormat.of().formatHex("base:allocation".getBytes()));
    }

    @Test
    void exportNameReplyWithNoZeroesIsTenBytes() {
        assertThat(hex(OptionReplies.exportNameReply(1L << 40, (short) 0x0d6d, true)))
                .isEqualTo("0000010000000000" + "0d6d");
    }

    @Test
    void exportNameReplyOtherwiseEndsWith124ZeroBytes() {
        assertThat(hex(OptionReplies.exportNameReply(512, (short) 0x0003, false)))
                .isEqualTo("0000000000000200" + "0003" + "00".repeat(124));
    }

    @Test
    void headerLeavesRoomForThePayloadThatFollows() {
        ByteBuffer reply = OptionReplies.header(6, OptionReplyType.INFO, 5);

        assertThat(reply.position()).isEqualTo(OptionReplies.HEADER_SIZE);
        assertThat(reply.remaining()).isEqualTo(5);
    }
}
