package dev.sprout.nbd;

/** Request types as a client sends them (proto.md: "Request types"); {@link Request} decodes them. */
public enum CommandType {
    READ(0),
    WRITE(1),
    DISC(2),
    FLUSH(3),
    TRIM(4),
    CACHE(5),
    WRITE_ZEROES(6),
    BLOCK_STATUS(7);

    private final int wire;

    CommandType(int wire) {
        this.wire = wire;
    }

    public int wire() {
        return wire;
    }
}
