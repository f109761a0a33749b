package dev.sprout.server;

import static dev.sprout.nbd.OptionReplyType.ACK;
import static dev.sprout.nbd.OptionReplyType.ERR_INVALID;
import static dev.sprout.nbd.OptionReplyType.ERR_UNKNOWN;
import static dev.sprout.nbd.OptionReplyType.META_CONTEXT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.nbd.NbdError;
import dev.sprout.nbd.OptionReplyType;
import dev.sprout.nbd.OptionType;
import dev.sprout.nbd.WireBytes;
import dev.sprout.server.RawNbdClient.OptionReply;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * NBD_OPT_LIST_META_CONTEXT and NBD_OPT_SET_META_CONTEXT in raw bytes (proto.md: "Metadata
 * querying", "The base: metadata namespace"), judged by whether BLOCK_STATUS then works: only
 * base:allocation exists, selected by its full name, for the export that GO then picks.
 */
@Timeout(60)
class MetaContextNegotiationTest {

    @TempDir
    Path dir;

    private RunningServer server;

    @BeforeEach
    void start() throws IOException {
        server = RunningServer.start(dir, List.of(
                new Export("", RunningServer.DESCRIPTION, MemoryBlockDevice.create(1 << 20)),
                new Export("ro", "another export", MemoryBlockDevice.create(1 << 20))));
    }

    @AfterEach
    void stillServesOthers() throws IOException {
        try (RunningServer running = server) {
            running.assertServesAnotherClient();
        }
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

    @Test
    void setMetaContextBeforeStructuredRepliesIsInvalid() throws IOException {
        try (RawNbdClient client = haggling()) {
            only(client.haggle(OptionType.SET_META_CONTEXT, WireBytes.metaContextQuery("", "base:allocation")),
                    ERR_INVALID);
            client.go("");
            client.request(RawNbdClient.BLOCK_STATUS, 0, 9, 0, 4096);
            assertThat(client.readError(9)).isEqualTo(NbdError.EINVAL.wire());
        }
    }

    @Test
    void listMetaContextOffersBaseAllocation() throws IOException {
        try (RawNbdClient client = haggling()) {
            client.structuredReplies();
            for (String[] queries : new String[][] {{}, {"base:"}, {"base:allocation"}, {"x-a:", "base:allocation"}}) {
                List<OptionReply> replies = client.haggle(OptionType.LIST_META_CONTEXT,
                        WireBytes.metaContextQuery("", queries));

                assertThat(replies).extracting(OptionReply::type).containsExactly(META_CONTEXT.wire(), ACK.wire());
                assertThat(replies.getFirst().data()).hasSize(4 + 15);
                assertThat(new String(replies.getFirst().data(), 4, 15, StandardCharsets.UTF_8))
                        .isEqualTo("base:allocation");
            }
        }
    }

    @Test
    void listMetaContextRepliesCarryTheReservedIdZero() throws IOException {
        try (RawNbdClient client = haggling()) {
            client.structuredReplies();
            List<OptionReply> replies = client.haggle(OptionType.LIST_META_CONTEXT, WireBytes.metaContextQuery(""));

            assertThat(replies.getFirst().buffer().getInt()).isZero();
        }
    }

    @Test
    void setMetaContextSelectsBaseAllocationUnderAnIdThatBlockStatusUses() throws IOException {
        try (RawNbdClient client = haggling()) {
            client.structuredReplies();
            List<OptionReply> replies = client.haggle(OptionType.SET_META_CONTEXT,
                    WireBytes.metaContextQuery("", "base:allocation"));

            assertThat(replies).extracting(OptionReply::type).containsExactly(META_CONTEXT.wire(), ACK.wire());
            ByteBuffer context = replies.getFirst().buffer();
            int id = context.getInt();
            assertThat(StandardCharsets.UTF_8.decode(context).toString()).isEqualTo("base:allocation");
            client.go("");
            client.request(RawNbdClient.BLOCK_STATUS, 0, 3, 0, 4096);
            List<RawNbdClient.Chunk> chunks = client.readStructuredReply(3);
            assertThat(chunks).singleElement().satisfies(c -> assertThat(c.buffer().getInt()).isEqualTo(id));
        }
    }

    @Test
    void unknownNamespaceOrLeafAndTheBareWildcardSelectNoContext() throws IOException {
        try (RawNbdClient client = haggling()) {
            client.structuredReplies();
            only(client.haggle(OptionType.LIST_META_CONTEXT, WireBytes.metaContextQuery("", "x-sprout:")), ACK);
            only(client.haggle(OptionType.SET_META_CONTEXT, WireBytes.metaContextQuery("", "x-sprout:a")), ACK);
            only(client.haggle(OptionType.SET_META_CONTEXT, WireBytes.metaContextQuery("", "base:", "base:nothing")),
                    ACK);
            client.go("");
            client.request(RawNbdClient.BLOCK_STATUS, 0, 4, 0, 4096);
            assertThat(client.readError(4)).isEqualTo(NbdError.EINVAL.wire());
        }
    }

    @Test
    void setMetaContextWithNoQueriesReplacesAnEarlierSelection() throws IOException {
        try (RawNbdClient client = haggling()) {
            client.structuredReplies();
            assertThat(client.setMetaContext("base:allocation")).isPositive();
            assertThat(client.setMetaContext()).isEqualTo(-1);
            client.go("");
            client.request(RawNbdClient.BLOCK_STATUS, 0, 5, 0, 4096);
            assertThat(client.readError(5)).isEqualTo(NbdError.EINVAL.wire());
        }
    }

    @Test
    void metaContextForAnotherExportDoesNotCarryOverToGo() throws IOException {
        try (RawNbdClient client = haggling()) {
            client.structuredReplies();
            List<OptionReply> replies = client.haggle(OptionType.SET_META_CONTEXT,
                    WireBytes.metaContextQuery("ro", "base:allocation"));
            assertThat(replies).extracting(OptionReply::type).containsExactly(META_CONTEXT.wire(), ACK.wire());
            client.go("");
            client.request(RawNbdClient.BLOCK_STATUS, 0, 6, 0, 4096);
            assertThat(client.readError(6)).isEqualTo(NbdError.EINVAL.wire());
        }
    }

    @Test
    void metaContextForAnUnknownExportIsErrUnknown() throws IOException {
        try (RawNbdClient client = haggling()) {
            client.structuredReplies();
            only(client.haggle(OptionType.SET_META_CONTEXT, WireBytes.metaContextQuery("nosuch", "base:allocation")),
                    ERR_UNKNOWN);
            only(client.haggle(OptionType.LIST_META_CONTEXT, WireBytes.metaContextQuery("nosuch")), ERR_UNKNOWN);
        }
    }

    @Test
    void malformedMetaContextPayloadIsInvalidAndHagglingGoesOn() throws IOException {
        try (RawNbdClient client = haggling()) {
            client.structuredReplies();
            only(client.haggle(OptionType.SET_META_CONTEXT, new WireBytes().string("").u32(2).string("base:allocation")
                    .bytes()), ERR_INVALID);
            only(client.haggle(OptionType.LIST_META_CONTEXT, new WireBytes().string("").u32(0).u8(1).bytes()),
                    ERR_INVALID);
            assertThat(client.setMetaContext("base:allocation")).isPositive();
        }
    }

    @Test
    void failedSetMetaContextStillDeselectsEarlierContexts() throws IOException {
        try (RawNbdClient client = haggling()) {
            client.structuredReplies();
            assertThat(client.setMetaContext("base:allocation")).isPositive();
            only(client.haggle(OptionType.SET_META_CONTEXT, WireBytes.metaContextQuery("nosuch", "base:allocation")),
                    ERR_UNKNOWN);
            client.go("");
            client.request(RawNbdClient.BLOCK_STATUS, 0, 7, 0, 4096);
            assertThat(client.readError(7)).isEqualTo(NbdError.EINVAL.wire());
        }
    }
}
