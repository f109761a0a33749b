package dev.sprout.nbd;

/** Information items of NBD_OPT_INFO and NBD_OPT_GO (proto.md: "NBD_REP_INFO"). */
public enum InfoType {
    EXPORT(0),
    NAME(1),
    DESCRIPTION(2),
    BLOCK_SIZE(3);

    private final int wire;

    InfoType(int wire) {
        this.wire = wire;
    }

    public int wire() {
        return wire;
    }

    /** The item with this wire value, or null when it is unknown (and must be ignored). */
    public static InfoType fromWire(int wire) {
        for (InfoType type : values()) {
            if (type.wire == wire) {
                return type;
            }
        }
        return null;
    }
}
