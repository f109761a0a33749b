package dev.sprout.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToIntFunction;
import org.junit.jupiter.api.Test;

/** Every wire constant has the value proto.md gives it ("Values", "Magic numbers"). */
class WireValuesTest {

    private static <E extends Enum<E>> Map<String, Integer> wire(Class<E> type, ToIntFunction<E> value) {
        Map<String, Integer> map = new TreeMap<>();
        Arrays.stream(type.getEnumConstants()).forEach(e -> map.put(e.name(), value.applyAsInt(e)));
        return map;
    }

    @Test
    void magicNumbers() {
        assertThat(Magic.NBDMAGIC).isEqualTo(0x4e42444d41474943L);
        assertThat(Magic.IHAVEOPT).isEqualTo(0x49484156454F5054L);
        assertThat(Magic.OPTION_REPLY).isEqualTo(0x3e889045565a9L);
        assertThat(Magic.REQUEST).isEqualTo(0x25609513);
        assertThat(Magic.SIMPLE_REPLY).isEqualTo(0x67446698);
        assertThat(Magic.STRUCTURED_REPLY).isEqualTo(0x668e33ef);
    }

    @Test
    void optionTypes() {
        assertThat(wire(OptionType.class, OptionType::wire)).isEqualTo(Map.ofEntries(
                Map.entry("EXPORT_NAME", 1), Map.entry("ABORT", 2), Map.entry("LIST", 3),
                Map.entry("PEEK_EXPORT", 4), Map.entry("STARTTLS", 5), Map.entry("INFO", 6), Map.entry("GO", 7),
                Map.entry("STRUCTURED_REPLY", 8), Map.entry("LIST_META_CONTEXT", 9),
                Map.entry("SET_META_CONTEXT", 10), Map.entry("EXTENDED_HEADERS", 11)));
        assertThat(OptionType.fromWire(12)).isNull();
        assertThat(OptionType.fromWire(7)).isEqualTo(OptionType.GO);
    }

    @Test
    void optionReplyTypesWithErrorsInBit31() {
        int err = 1 << 31;
        assertThat(wire(OptionReplyType.class, OptionReplyType::wire)).isEqualTo(Map.ofEntries(
                Map.entry("ACK", 1), Map.entry("SERVER", 2), Map.entry("INFO", 3), Map.entry("META_CONTEXT", 4),
                Map.entry("ERR_UNSUP", err + 1), Map.entry("ERR_POLICY", err + 2), Map.entry("ERR_INVALID", err + 3),
                Map.entry("ERR_PLATFORM", err + 4), Map.entry("ERR_TLS_REQD", err + 5),
                Map.entry("ERR_UNKNOWN", err + 6), Map.entry("ERR_SHUTDOWN", err + 7),
                Map.entry("ERR_BLOCK_SIZE_REQD", err + 8), Map.entry("ERR_TOO_BIG", err + 9)));
        assertThat(EnumSet.allOf(OptionReplyType.class)).allSatisfy(t -> assertThat(t.isError())
                .isEqualTo(t.name().startsWith("ERR_")));
    }

    @Test
    void infoTypes() {
        assertThat(wire(InfoType.class, InfoType::wire)).isEqualTo(
                Map.of("EXPORT", 0, "NAME", 1, "DESCRIPTION", 2, "BLOCK_SIZE", 3));
        assertThat(InfoType.fromWire(4)).as("unknown requests are ignored, not errors").isNull();
    }

    @Test
    void structuredReplyTypes() {
        assertThat(wire(ReplyType.class, ReplyType::wire)).isEqualTo(Map.of("NONE", 0, "OFFSET_DATA", 1,
                "OFFSET_HOLE", 2, "BLOCK_STATUS", 5, "ERROR", 32769, "ERROR_OFFSET", 32770));
        assertThat(ReplyType.fromWire(3)).isNull();
    }

    @Test
    void errorValues() {
        assertThat(wire(NbdError.class, NbdError::wire)).isEqualTo(Map.of("EPERM", 1, "EIO", 5, "ENOMEM", 12,
                "EINVAL", 22, "ENOSPC", 28, "EOVERFLOW", 75, "ENOTSUP", 95, "ESHUTDOWN", 108));
        assertThat(NbdError.fromWire(2)).as("unexpected values read as EINVAL").isEqualTo(NbdError.EINVAL);
    }

    @Test
    void transmissionFlagBits() {
        assertThat(wire(TransmissionFlag.class, TransmissionFlag::bit)).isEqualTo(Map.ofEntries(
                Map.entry("HAS_FLAGS", 1), Map.entry("READ_ONLY", 1 << 1), Map.entry("SEND_FLUSH", 1 << 2),
                Map.entry("SEND_FUA", 1 << 3), Map.entry("ROTATIONAL", 1 << 4), Map.entry("SEND_TRIM", 1 << 5),
                Map.entry("SEND_WRITE_ZEROES", 1 << 6), Map.entry("SEND_DF", 1 << 7),
                Map.entry("CAN_MULTI_CONN", 1 << 8), Map.entry("SEND_RESIZE", 1 << 9),
                Map.entry("SEND_CACHE", 1 << 10), Map.entry("SEND_FAST_ZERO", 1 << 11),
                Map.entry("BLOCK_STAT_PAYLOAD", 1 << 12)));
        assertThat(TransmissionFlag.encode(EnumSet.of(TransmissionFlag.HAS_FLAGS, TransmissionFlag.SEND_FAST_ZERO)))
                .isEqualTo((short) 0x0801);
    }

    @Test
    void commandFlagBits() {
        assertThat(wire(CommandFlag.class, CommandFlag::bit)).isEqualTo(Map.of("FUA", 1, "NO_HOLE", 2, "DF", 4,
                "REQ_ONE", 8, "FAST_ZERO", 16, "PAYLOAD_LEN", 32));
        assertThat(CommandFlag.mask(CommandFlag.FUA, CommandFlag.REQ_ONE)).isEqualTo(9);
    }

    @Test
    void handshakeFlagBits() {
        assertThat(wire(HandshakeFlag.class, HandshakeFlag::bit)).isEqualTo(Map.of("FIXED_NEWSTYLE", 1,
                "NO_ZEROES", 2));
        assertThat(HandshakeFlag.KNOWN_CLIENT_FLAGS).isEqualTo(3);
    }
}
