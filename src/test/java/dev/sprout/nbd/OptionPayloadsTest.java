package dev.sprout.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprout.nbd.OptionPayloads.ExportQuery;
import dev.sprout.nbd.OptionPayloads.MalformedOptionException;
import dev.sprout.nbd.OptionPayloads.MetaContextQuery;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Payloads of NBD_OPT_INFO/GO and NBD_OPT_*_META_CONTEXT from byte fixtures. */
class OptionPayloadsTest {

    private static final String INVALID_UTF8 = "c328";
    private static final String OVERLONG_NUL = "c080";

    @Test
    void decodesAnExportQueryWithInformationRequests() throws MalformedOptionException {
        ByteBuffer payload = new WireBytes().u32(4).utf8("disk").u16(2).u16(1).u16(3).buffer();

        assertThat(OptionPayloads.exportQuery(payload)).isEqualTo(new ExportQuery("disk", List.of(1, 3)));
        assertThat(payload.hasRemaining()).isFalse();
    }

    @Test
    void decodesTheDefaultExportWithNoRequests() throws MalformedOptionException {
        ByteBuffer payload = new WireBytes().hex("00000000" + "0000").buffer();

        assertThat(OptionPayloads.exportQuery(payload)).isEqualTo(new ExportQuery("", List.of()));
    }

    @Test
    void keepsUnknownAndUnsignedInformationRequests() throws MalformedOptionException {
        ByteBuffer payload = new WireBytes().string("").u16(2).u16(0xffff).u16(0x8000).buffer();

        assertThat(OptionPayloads.exportQuery(payload).infoRequests()).containsExactly(0xffff, 0x8000);
    }

    @Test
    void decodesMultiByteUtf8Names() throws MalformedOptionException {
        ByteBuffer payload = new WireBytes().string("d\u00efsk-\u20ac-\ud83d\ude00").u16(0).buffer();

        assertThat(OptionPayloads.exportQuery(payload).name()).isEqualTo("d\u00efsk-\u20ac-\ud83d\ude00");
    }

    @Test
    void exportQueryWithoutAnyNameLengthIsMalformed() {
        assertMalformed(new WireBytes().hex("0000"), true, "export name length missing");
        assertMalformed(new WireBytes(), true, "export name length missing");
    }

    @Test
    void exportQueryWhoseNameRunsPastThePayloadIsMalformed() {
        assertMalformed(new WireBytes().u32(10).utf8("disk").u16(0), true, "exceeds the payload");
    }

    @Test
    void exportQueryWithNameLengthAboveUnsigned31BitsIsMalformed() {
        assertMalformed(new WireBytes().u32(0xffff_fff0L).utf8("disk").u16(0), true, "too long");
    }

    @Test
    void exportQueryWithoutARequestCountIsMalformed() {
        assertMalformed(new WireBytes().string("disk"), true, "information request count missing");
        assertMalformed(new WireBytes().string("disk").u8(0), true, "information request count missing");
    }

    @Test
    void exportQueryWithFewerRequestsThanCountedIsMalformed() {
        assertMalformed(new WireBytes().string("disk").u16(2).u16(1), true, "does not match");
    }

    @Test
    void exportQueryWithTrailingBytesIsMalformed() {
        assertMalformed(new WireBytes().string("disk").u16(1).u16(1).u8(0), true, "does not match");
        assertMalformed(new WireBytes().string("disk").u16(0).u16(3), true, "does not match");
    }

    @Test
    void exportQueryWithInvalidUtf8IsMalformed() {
        assertMalformed(new WireBytes().u32(2).hex(INVALID_UTF8).u16(0), true, "not valid UTF-8");
        assertMalformed(new WireBytes().u32(2).hex(OVERLONG_NUL).u16(0), true, "not valid UTF-8");
    }

    @Test
    void acceptsNamesUpTo4096BytesAndNoLonger() throws MalformedOptionException {
        String longest = "x".repeat(OptionPayloads.MAX_STRING);
        assertThat(OptionPayloads.exportQuery(new WireBytes().string(longest).u16(0).buffer()).name())
                .isEqualTo(longest);
        assertMalformed(new WireBytes().string(longest + "x").u16(0), true, "too long");
    }

    @Test
    void decodesAMetaContextQuery() throws MalformedOptionException {
        ByteBuffer payload = new WireBytes().string("").u32(2).string("base:allocation")
                .string("qemu:dirty-bitmap:b0").buffer();

        assertThat(OptionPayloads.metaContextQuery(payload))
                .isEqualTo(new MetaContextQuery("", List.of("base:allocation", "qemu:dirty-bitmap:b0")));
    }

    @Test
    void decodesAMetaContextQueryWithNoQueries() throws MalformedOptionException {
        ByteBuffer payload = new WireBytes().hex("00000004" + "64697363" + "00000000").buffer();

        assertThat(OptionPayloads.metaContextQuery(payload)).isEqualTo(new MetaContextQuery("disc", List.of()));
    }

    @Test
    void metaContextQueryWithTruncatedNameLengthIsMalformed() {
        assertMalformed(new WireBytes().hex("000000"), false, "export name length missing");
    }

    @Test
    void metaContextQueryWhoseNameRunsPastThePayloadIsMalformed() {
        assertMalformed(new WireBytes().u32(5).utf8("disk"), false, "exceeds the payload");
    }

    @Test
    void metaContextQueryWithoutACountIsMalformed() {
        assertMalformed(new WireBytes().string("").u16(0), false, "query count missing");
    }

    @Test
    void metaContextQueryCountingMoreQueriesThanSentIsMalformed() {
        assertMalformed(new WireBytes().string("").u32(2).string("base:allocation"), false,
                "query length missing");
        assertMalformed(new WireBytes().string("").u32(0xffff_ffffL).string("base:"), false,
                "exceeds the payload");
    }

    @Test
    void metaContextQueryCountingFewerQueriesThanSentIsMalformed() {
        assertMalformed(new WireBytes().string("").u32(1).string("base:allocation").string("base:"), false,
                "trailing bytes");
    }

    @Test
    void metaContextQueryWithTrailingBytesIsMalformed() {
        assertMalformed(new WireBytes().string("").u32(0).u8(7), false, "1 trailing bytes");
    }

    @Test
    void metaContextQueryWhoseQueryRunsPastThePayloadIsMalformed() {
        assertMalformed(new WireBytes().string("").u32(1).u32(40).utf8("base:allocation"), false,
                "query length 40 exceeds the payload");
    }

    @Test
    void metaContextQueryWithInvalidUtf8IsMalformed() {
        assertMalformed(new WireBytes().string("").u32(1).u32(2).hex(INVALID_UTF8), false, "query is not valid UTF-8");
        assertMalformed(new WireBytes().u32(2).hex(OVERLONG_NUL).u32(0), false, "export name is not valid UTF-8");
    }

    private static void assertMalformed(WireBytes payload, boolean exportQuery, String reason) {
        ByteBuffer buffer = payload.buffer();
        assertThatThrownBy(() -> {
            if (exportQuery) {
                OptionPayloads.exportQuery(buffer);
            } else {
                OptionPayloads.metaContextQuery(buffer);
            }
        }).isInstanceOf(MalformedOptionException.class).hasMessageContaining(reason);
    }
}
