package dev.sprout.block;

/**
 * The POSIX error numbers a block operation can fail with: exactly the set NBD can carry
 * (proto.md: "Error values"), with their Linux values.
 */
public enum Errno {
    EPERM(1, "Operation not permitted"),
    EIO(5, "Input/output error"),
    ENOMEM(12, "Cannot allocate memory"),
    EINVAL(22, "Invalid argument"),
    ENOSPC(28, "No space left on device"),
    EOVERFLOW(75, "Value too large"),
    ENOTSUP(95, "Operation not supported"),
    ESHUTDOWN(108, "Server is shutting down");

    private final int code;
    private final String description;

    Errno(int code, String description) {
        this.code = code;
        this.description = description;
    }

    /** The Linux errno value. */
    public int code() {
        return code;
    }

    /** The strerror-style text. */
    public String description() {
        return description;
    }
}
