package dev.sprout.nbd;

/** Structured reply chunk types (proto.md: "Structured reply types"). */
public enum ReplyType {
    NONE(0),
    OFFSET_DATA(1),
    OFFSET_HOLE(2),
    BLOCK_STATUS(5),
    ERROR((1 << 15) | 1),
    ERROR_OFFSET((1 << 15) | 2);

    private final int wire;

    ReplyType(int wire) {
        this.wire = wire;
    }

    public int wire() {
        return wire;
    }

    /** The chunk type with this wire value, or null when it is unknown. */
    public static ReplyType fromWire(int wire) {
        for (ReplyType type : values()) {
            if (type.wire == wire) {
                return type;
            }
        }
        return null;
    }
}
