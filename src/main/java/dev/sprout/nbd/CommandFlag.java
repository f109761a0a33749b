package dev.sprout.nbd;

/** The 16-bit per-request command flags (proto.md: "Command flags"). */
public enum CommandFlag {
    FUA(0),
    NO_HOLE(1),
    DF(2),
    REQ_ONE(3),
    FAST_ZERO(4),
    PAYLOAD_LEN(5);

    private final int bit;

    CommandFlag(int shift) {
        this.bit = 1 << shift;
    }

    public int bit() {
        return bit;
    }

    public boolean in(int flags) {
        return (flags & bit) != 0;
    }

    /** The union of the given flags' bits. */
    public static int mask(CommandFlag... flags) {
        int value = 0;
        for (CommandFlag flag : flags) {
            value |= flag.bit;
        }
        return value;
    }
}
