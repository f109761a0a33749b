package dev.sprout.nbd;

/** Error values carried in replies (proto.md: "Error values"). */
public enum NbdError {
    EPERM(1),
    EIO(5),
    ENOMEM(12),
    EINVAL(22),
    ENOSPC(28),
    EOVERFLOW(75),
    ENOTSUP(95),
    ESHUTDOWN(108);

    private final int wire;

    NbdError(int wire) {
        this.wire = wire;
    }

    public int wire() {
        return wire;
    }

    /** The error with this wire value; unknown values read as EINVAL, as the spec asks clients to. */
    public static NbdError fromWire(int wire) {
        for (NbdError error : values()) {
            if (error.wire == wire) {
                return error;
            }
        }
        return EINVAL;
    }
}
