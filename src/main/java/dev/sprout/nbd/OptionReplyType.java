package dev.sprout.nbd;

/** Option reply types; those with bit 31 set are errors (proto.md: "Option reply types"). */
public enum OptionReplyType {
    ACK(1),
    SERVER(2),
    INFO(3),
    META_CONTEXT(4),
    ERR_UNSUP(0x80000000 | 1),
    ERR_POLICY(0x80000000 | 2),
    ERR_INVALID(0x80000000 | 3),
    ERR_PLATFORM(0x80000000 | 4),
    ERR_TLS_REQD(0x80000000 | 5),
    ERR_UNKNOWN(0x80000000 | 6),
    ERR_SHUTDOWN(0x80000000 | 7),
    ERR_BLOCK_SIZE_REQD(0x80000000 | 8),
    ERR_TOO_BIG(0x80000000 | 9);

    private final int wire;

    OptionReplyType(int wire) {
        this.wire = wire;
    }

    public int wire() {
        return wire;
    }

    public boolean isError() {
        return wire < 0;
    }

    /** The reply type with this wire value, or null when it is unknown. */
    public static OptionReplyType fromWire(int wire) {
        for (OptionReplyType type : values()) {
            if (type.wire == wire) {
                return type;
            }
        }
        return null;
    }
}
