package dev.sprout.nbd;

import java.util.Set;

/** The 16-bit per-export transmission flags (proto.md: "Transmission flags"). */
public enum TransmissionFlag {
    HAS_FLAGS(0),
    READ_ONLY(1),
    SEND_FLUSH(2),
    SEND_FUA(3),
    ROTATIONAL(4),
    SEND_TRIM(5),
    SEND_WRITE_ZEROES(6),
    SEND_DF(7),
    CAN_MULTI_CONN(8),
    SEND_RESIZE(9),
    SEND_CACHE(10),
    SEND_FAST_ZERO(11),
    BLOCK_STAT_PAYLOAD(12);

    private final int bit;

    TransmissionFlag(int shift) {
        this.bit = 1 << shift;
    }

    public int bit() {
        return bit;
    }

    public boolean in(int flags) {
        return (flags & bit) != 0;
    }

    /** The wire encoding of a set of flags. */
    public static short encode(Set<TransmissionFlag> flags) {
        int value = 0;
        for (TransmissionFlag flag : flags) {
            value |= flag.bit;
        }
        return (short) value;
    }
}
