package dev.sprout.nbd;

/** Options a client may send during negotiation (proto.md: "Option types"). */
public enum OptionType {
    EXPORT_NAME(1),
    ABORT(2),
    LIST(3),
    PEEK_EXPORT(4),
    STARTTLS(5),
    INFO(6),
    GO(7),
    STRUCTURED_REPLY(8),
    LIST_META_CONTEXT(9),
    SET_META_CONTEXT(10),
    EXTENDED_HEADERS(11);

    private final int wire;

    OptionType(int wire) {
        this.wire = wire;
    }

    public int wire() {
        return wire;
    }

    /** The option with this wire value, or null when it is unknown. */
    public static OptionType fromWire(int wire) {
        for (OptionType type : values()) {
            if (type.wire == wire) {
                return type;
            }
        }
        return null;
    }
}
