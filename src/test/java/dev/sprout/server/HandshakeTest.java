package dev.sprout.server;

import static dev.sprout.nbd.OptionReplyType.ACK;
import static dev.sprout.nbd.OptionReplyType.ERR_INVALID;
import static dev.sprout.nbd.OptionReplyType.ERR_TOO_BIG;
import static dev.sprout.nbd.OptionReplyType.ERR_UNKNOWN;
import static dev.sprout.nbd.OptionReplyType.ERR_UNSUP;
import static dev.sprout.nbd.OptionReplyType.INFO;
import static dev.sprout.nbd.OptionReplyType.SERVER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.layer.ReadOnlyDevice;
import dev.sprout.nbd.HandshakeFlag;
import dev.sprout.nbd.InfoType;
import dev.sprout.nbd.OptionReplyType;
import dev.sprout.nbd.OptionType;
import dev.sprout.nbd.TransmissionFlag;
import dev.sprout.nbd.WireBytes;
import dev.sprout.server.RawNbdClient.ExportInfo;
import dev.sprout.server.RawNbdClient.OptionReply;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fixed newstyle negotiation in raw bytes (proto.md: "Fixed newstyle negotiation", "Option
 * types"): each bad input gets the reply the spec names or a clean disconnect, and after every
 * test a fresh client is still served.
 */
@Timeout(60)
class HandshakeTest {

    private static final long SIZE = 16 << 20;
    private static final long RO_SIZE = 1 << 20;
    private static final int NO_ZEROES = HandshakeFlag.FIXED_NEWSTYLE.bit() | HandshakeFlag.NO_ZEROES.bit();
    private static final byte[] NOTHING = new byte[0];
    /** What a memory export offers before structured replies are negotiated. */
    private static final int MEMORY_FLAGS = flags(TransmissionFlag.HAS_FLAGS, TransmissionFlag.SEND_FLUSH,
            TransmissionFlag.SEND_FUA, TransmissionFlag.SEND_TRIM, TransmissionFlag.SEND_WRITE_ZEROES,
            TransmissionFlag.CAN_MULTI_CONN, TransmissionFlag.SEND_CACHE, TransmissionFlag.SEND_FAST_ZERO);
    private static final int READ_ONLY_FLAGS = flags(TransmissionFlag.HAS_FLAGS, TransmissionFlag.READ_ONLY,
            TransmissionFlag.SEND_FLUSH, TransmissionFlag.SEND_FUA, TransmissionFlag.CAN_MULTI_CONN,
            TransmissionFlag.SEND_CACHE);

    @TempDir
    Path dir;

    private RunningServer server;

    @BeforeEach
    void start() throws IOException {
        server = RunningServer.start(dir, List.of(
                new Export("", RunningServer.DESCRIPTION, MemoryBlockDevice.create(SIZE)),
                new Export("ro", "read-only copy", new ReadOnlyDevice(MemoryBlockDevice.create(RO_SIZE)))));
    }

    @AfterEach
    void stillServesOthers() throws IOException {
        try (RunningServer running = server) {
            running.assertServesAnotherClient();
        }
    }

    private static int flags(TransmissionFlag... flags) {
        int value = 0;
        for (TransmissionFlag flag : flags) {
            value |= flag.bit();
        }
        return value;
    }

    private RawNbdClient haggling() throws IOException {
        RawNbdClient client = server.connect();
        client.handshake();
        return client;
    }

    private static OptionReply only(List<OptionReply> replies, OptionReplyType type) {
        assertThat(replies).hasSize(1);
        assertThat(replies.getFirst().is(type)).as("%s is %s", replies.getFirst(), type).isTrue();
        return replies.getFirst();
    }

    private static List<Integer> infoTypes(List<OptionReply> replies) {
        return replies.stream().filter(r -> r.is(INFO)).map(r -> (int) r.buffer().getShort()).toList();
    }

    private static OptionReply info(List<OptionReply> replies, InfoType type) {
        return replies.stream().filter(r -> r.is(INFO) && r.buffer().getShort() == type.wire()).findFirst()
                .orElseThrow(() -> new AssertionError("no " + type + " in " + replies));
    }

    /** Proves the client is in transmission with the default export: a READ answered with data. */
    private static void assertTransmits(RawNbdClient client) throws IOException {
        client.request(RawNbdClient.READ, 0, 42, 0, 4096);
        assertThat(client.readData(42, 4096)).containsOnly(0);
    }

    @Test
    void greetsWithNbdmagicIhaveoptAndFixedNewstyleWithNoZeroes() throws IOException {
        try (RawNbdClient client = server.connect()) {
            assertThat(HexFormat.of().formatHex(client.read(18)))
                    .isEqualTo("4e42444d41474943" + "49484156454f5054" + "0003");
        }
    }

    @Test
    void disconnectsAClientSettingAnUnknownFlag() throws IOException {
        for (int unknown : new int[] {1 << 2, 1 << 31}) {
            try (RawNbdClient client = server.connect()) {
                client.handshake(HandshakeFlag.FIXED_NEWSTYLE.bit() | unknown);
                client.expectClosed();
            }
        }
    }

    @Test
    void disconnectsOnBadOptionMagic() throws IOException {
        try (RawNbdClient client = haggling()) {
            client.send(new WireBytes().utf8("IHAVEOPU").u32(OptionType.LIST.wire()).u32(0));
            client.expectClosed();
        }
    }

    @Test
    void disconnectsOnOptionMagicArrivingAfterValidOptions() throws IOException {
        try (RawNbdClient client = haggling()) {
            client.structuredReplies();
            client.send(new WireBytes().u64(0).u32(OptionType.GO.wire()).u32(0));
            client.expectClosed();
        }
    }

    @Test
    void answersAnUnknownOptionWithErrUnsupAndKeepsHaggling() throws IOException {
        try (RawNbdClient client = haggling()) {
            for (int unknown : new int[] {12, 0x1234, 0x80000001}) {
                client.send(RawNbdClient.option(unknown, new byte[] {1, 2, 3, 4, 5}));
                assertThat(client.readOptionReplies(unknown)).singleElement().matches(r -> r.is(ERR_UNSUP));
            }
            client.go("");
            assertTransmits(client);
        }
    }

    @Test
    void refusesStarttlsWithErrUnsup() throws IOException {
        try (RawNbdClient client = haggling()) {
            only(client.haggle(OptionType.STARTTLS, NOTHING), ERR_UNSUP);
            client.go("");
            assertTransmits(client);
        }
    }

    @Test
    void refusesExtendedHeadersAndPeekExportWithErrUnsup() throws IOException {
        try (RawNbdClient client = haggling()) {
            only(client.haggle(OptionType.EXTENDED_HEADERS, NOTHING), ERR_UNSUP);
            only(client.haggle(OptionType.PEEK_EXPORT, NOTHING), ERR_UNSUP);
        }
    }

    @Test
    void refusesListWithAPayloadAsInvalid() throws IOException {
        try (RawNbdClient client = haggling()) {
            only(client.haggle(OptionType.LIST, new byte[] {0}), ERR_INVALID);
            assertThat(client.haggle(OptionType.LIST, NOTHING)).hasSize(3);
        }
    }

    @Test
    void listsEveryExportWithItsDescriptionThenAcks() throws IOException {
        try (RawNbdClient client = haggling()) {
            List<OptionReply> replies = client.haggle(OptionType.LIST, NOTHING);

            assertThat(replies).extracting(OptionReply::type).containsExactly(SERVER.wire(), SERVER.wire(), ACK.wire());
            assertThat(replies.get(0).data()).isEqualTo(new WireBytes().string("").utf8("desc").bytes());
            assertThat(replies.get(1).data()).isEqualTo(new WireBytes().string("ro").utf8("read-only copy").bytes());
            assertThat(replies.get(2).data()).isEmpty();
        }
    }

    @Test
    void infoForAnUnknownExportIsErrUnknownWithoutInformation() throws IOException {
        try (RawNbdClient client = haggling()) {
            only(client.haggle(OptionType.INFO, WireBytes.exportQuery("nosuch", InfoType.NAME.wire())), ERR_UNKNOWN);
            only(client.haggle(OptionType.GO, WireBytes.exportQuery("nosuch")), ERR_UNKNOWN);
            client.go("");
            assertTransmits(client);
        }
    }

    @Test
    void infoRepliesExportNameAndBlockSizeThenAcks() throws IOException {
        try (RawNbdClient client = haggling()) {
            List<OptionReply> replies = client.haggle(OptionType.INFO,
                    WireBytes.exportQuery("", InfoType.NAME.wire(), InfoType.BLOCK_SIZE.wire()));

            assertThat(replies.getLast().is(ACK)).isTrue();
            assertThat(infoTypes(replies)).containsExactlyInAnyOrder(InfoType.EXPORT.wire(), InfoType.NAME.wire(),
                    InfoType.BLOCK_SIZE.wire());
            assertThat(RawNbdClient.exportInfo(replies)).isEqualTo(new ExportInfo(SIZE, MEMORY_FLAGS));
            assertThat(info(replies, InfoType.NAME).data()).isEqualTo(new WireBytes().u16(1).bytes());
            assertThat(info(replies, InfoType.BLOCK_SIZE).data())
                    .isEqualTo(new WireBytes().u16(3).u32(1).u32(4096).u32(32 << 20).bytes());
        }
    }

    @Test
    void infoNamesANamedExportAndDescribesItWhenAsked() throws IOException {
        try (RawNbdClient client = haggling()) {
            List<OptionReply> replies = client.haggle(OptionType.INFO,
                    WireBytes.exportQuery("ro", InfoType.DESCRIPTION.wire(), InfoType.NAME.wire(), 0x7777));

            assertThat(replies.getLast().is(ACK)).isTrue();
            assertThat(info(replies, InfoType.NAME).data()).isEqualTo(new WireBytes().u16(1).utf8("ro").bytes());
            assertThat(info(replies, InfoType.DESCRIPTION).data())
                    .isEqualTo(new WireBytes().u16(2).utf8("read-only copy").bytes());
            assertThat(RawNbdClient.exportInfo(replies)).isEqualTo(new ExportInfo(RO_SIZE, READ_ONLY_FLAGS));
        }
    }

    @Test
    void infoSendsNoNameOrDescriptionUnlessAsked() throws IOException {
        try (RawNbdClient client = haggling()) {
            List<OptionReply> replies = client.haggle(OptionType.INFO, WireBytes.exportQuery(""));

            assertThat(replies.getLast().is(ACK)).isTrue();
            assertThat(infoTypes(replies)).contains(InfoType.EXPORT.wire())
                    .doesNotContain(InfoType.NAME.wire(), InfoType.DESCRIPTION.wire());
        }
    }

    @Test
    void infoKeepsHagglingAndGoEntersTransmissionWithTheSameInformation() throws IOException {
        try (RawNbdClient client = haggling()) {
            byte[] query = WireBytes.exportQuery("", InfoType.BLOCK_SIZE.wire());
            List<OptionReply> info = client.haggle(OptionType.INFO, query);
            List<OptionReply> go = client.haggle(OptionType.GO, query);

            assertThat(go).extracting(OptionReply::data).containsExactlyInAnyOrderElementsOf(
                    info.stream().map(OptionReply::data).toList());
            assertThat(go).allMatch(r -> r.option() == OptionType.GO.wire());
            assertTransmits(client);
        }
    }

    @Test
    void malformedInfoAndGoPayloadsAreInvalidAndHagglingGoesOn() throws IOException {
        try (RawNbdClient client = haggling()) {
            only(client.haggle(OptionType.INFO, new byte[] {0, 0}), ERR_INVALID);
            only(client.haggle(OptionType.GO, new WireBytes().u32(9).utf8("x").u16(0).bytes()), ERR_INVALID);
            only(client.haggle(OptionType.GO, new WireBytes().string("").u16(2).u16(1).bytes()), ERR_INVALID);
            only(client.haggle(OptionType.GO, new WireBytes().string("").u16(0).u8(0).bytes()), ERR_INVALID);
            only(client.haggle(OptionType.GO, new WireBytes().u32(1).hex("ff").u16(0).bytes()), ERR_INVALID);
            client.go("");
            assertTransmits(client);
        }
    }

    @Test
    void refusesStructuredReplyWithAPayloadAsInvalid() throws IOException {
        try (RawNbdClient client = haggling()) {
            only(client.haggle(OptionType.STRUCTURED_REPLY, new byte[] {1}), ERR_INVALID);
            assertThat(client.go("").flags() & TransmissionFlag.SEND_DF.bit()).as("not negotiated").isZero();
        }
    }

    @Test
    void abortIsAckedThenTheServerCloses() throws IOException {
        try (RawNbdClient client = haggling()) {
            only(client.haggle(OptionType.ABORT, NOTHING), ACK);
            client.expectClosed();
        }
    }

    @Test
    void abortWithStrayDataIsStillAcked() throws IOException {
        try (RawNbdClient client = haggling()) {
            only(client.haggle(OptionType.ABORT, new byte[] {1, 2, 3}), ACK);
            client.expectClosed();
        }
    }

    @Test
    void exportNameWithAnUnknownNameDisconnects() throws IOException {
        try (RawNbdClient client = haggling()) {
            client.sendOption(OptionType.EXPORT_NAME, "nosuch".getBytes(StandardCharsets.UTF_8));
            client.expectClosed();
        }
    }

    @Test
    void exportNameWithNoZeroesRepliesTenBytes() throws IOException {
        try (RawNbdClient client = server.connect()) {
            client.handshake(NO_ZEROES);
            client.sendOption(OptionType.EXPORT_NAME, NOTHING);

            ByteBuffer reply = client.readBuffer(10);
            assertThat(reply.getLong()).isEqualTo(SIZE);
            assertThat(Short.toUnsignedInt(reply.getShort())).isEqualTo(MEMORY_FLAGS);
            assertTransmits(client);
        }
    }

    @Test
    void exportNameWithoutNoZeroesReplies134Bytes() throws IOException {
        try (RawNbdClient client = server.connect()) {
            client.handshake(HandshakeFlag.FIXED_NEWSTYLE.bit());
            client.sendOption(OptionType.EXPORT_NAME, NOTHING);

            ByteBuffer reply = client.readBuffer(134);
            assertThat(reply.getLong()).isEqualTo(SIZE);
            assertThat(Short.toUnsignedInt(reply.getShort())).isEqualTo(MEMORY_FLAGS);
            assertThat(WireBytes.remaining(reply)).hasSize(124).containsOnly(0);
            assertTransmits(client);
        }
    }

    @Test
    void exportNameAfterStructuredReplyServesStructuredReplies() throws IOException {
        try (RawNbdClient client = haggling()) {
            client.structuredReplies();
            client.sendOption(OptionType.EXPORT_NAME, NOTHING);

            ByteBuffer reply = client.readBuffer(10);
            assertThat(reply.getLong()).isEqualTo(SIZE);
            assertThat(Short.toUnsignedInt(reply.getShort())).isEqualTo(MEMORY_FLAGS | TransmissionFlag.SEND_DF.bit());
            client.request(RawNbdClient.READ, 0, 8, 0, 512);
            assertThat(client.readStructuredReply(8)).isNotEmpty();
        }
    }

    @Test
    void exportNameSelectsANamedExport() throws IOException {
        try (RawNbdClient client = haggling()) {
            client.sendOption(OptionType.EXPORT_NAME, "ro".getBytes(StandardCharsets.UTF_8));

            ByteBuffer reply = client.readBuffer(10);
            assertThat(reply.getLong()).isEqualTo(RO_SIZE);
            assertThat(Short.toUnsignedInt(reply.getShort())).isEqualTo(READ_ONLY_FLAGS);
        }
    }

    @Test
    void optionPayloadAbove64KiBIsErrTooBigAndHagglingGoesOn() throws IOException {
        try (RawNbdClient client = haggling()) {
            only(client.haggle(OptionType.INFO, new byte[(64 << 10) + 1]), ERR_TOO_BIG);
            only(client.haggle(OptionType.GO, new byte[1 << 20]), ERR_TOO_BIG);
            client.go("");
            assertTransmits(client);
        }
    }

    @Test
    void exportNameTooLongToReadDisconnects() throws IOException {
        try (RawNbdClient client = haggling()) {
            client.sendOption(OptionType.EXPORT_NAME, new byte[(64 << 10) + 1]);
            client.expectClosed();
        }
    }

    @Test
    void optionErrorMessagesStayWithinTheStringLimit() throws IOException {
        try (RawNbdClient client = haggling()) {
            OptionReply reply = only(client.haggle(OptionType.INFO, WireBytes.exportQuery("x".repeat(4096))),
                    ERR_UNKNOWN);
            assertThat(reply.data().length).isLessThanOrEqualTo(4096);
        }
    }

    @Test
    void optionLengthBeyondAnyReasonDisconnects() throws IOException {
        try (RawNbdClient client = haggling()) {
            client.send(new WireBytes().raw(RawNbdClient.option(OptionType.GO.wire(), NOTHING), 0, 12).u32(0xFFFF_FFFFL));
            client.expectClosed();
        }
    }

    @Test
    void memoryExportOffersEveryWriteFeatureAndDfOnlyWithStructuredReplies() throws IOException {
        try (RawNbdClient plain = haggling(); RawNbdClient structured = haggling()) {
            assertThat(plain.go("").flags()).isEqualTo(MEMORY_FLAGS);
            structured.structuredReplies();
            assertThat(structured.go("").flags()).isEqualTo(MEMORY_FLAGS | TransmissionFlag.SEND_DF.bit());
        }
    }

    @Test
    void readOnlyExportOffersNoWriteFeatures() throws IOException {
        try (RawNbdClient client = haggling()) {
            client.structuredReplies();
            int flags = client.go("ro").flags();

            assertThat(flags).isEqualTo(READ_ONLY_FLAGS | TransmissionFlag.SEND_DF.bit());
            assertThat(EnumSet.of(TransmissionFlag.SEND_TRIM, TransmissionFlag.SEND_WRITE_ZEROES,
                    TransmissionFlag.SEND_FAST_ZERO)).noneMatch(f -> f.in(flags));
        }
    }

    @Test
    void clientLeavingMidOptionDoesNotDisturbTheServer() throws IOException {
        try (RawNbdClient client = haggling()) {
            client.send(new WireBytes().raw(RawNbdClient.option(OptionType.GO.wire(), WireBytes.exportQuery("")),
                    0, 20));
        }
        try (RawNbdClient client = server.connect()) {
            client.read(18);
        }
    }
}
