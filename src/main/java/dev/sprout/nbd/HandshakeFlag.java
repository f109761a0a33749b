package dev.sprout.nbd;

/** Bits of the server's 16-bit handshake flags and the client's 32-bit reply to them. */
public enum HandshakeFlag {
    FIXED_NEWSTYLE(1),
    NO_ZEROES(1 << 1);

    private final int bit;

    HandshakeFlag(int bit) {
        this.bit = bit;
    }

    public int bit() {
        return bit;
    }

    /** Whether {@code flags} has this bit set. */
    public boolean in(int flags) {
        return (flags & bit) != 0;
    }

    /** The client flags this server understands; any other bit means the client must be refused. */
    public static final int KNOWN_CLIENT_FLAGS = FIXED_NEWSTYLE.bit | NO_ZEROES.bit;
}
