package dev.sprout.block;

import java.io.IOException;

/**
 * Why a block operation failed: an {@link Errno} for the client and a message that names the
 * resource for the log. {@link RequestException} is the caller's fault, {@link DeviceException}
 * the device's; the server logs them at different levels.
 */
public abstract sealed class BlockException extends IOException
        permits RequestException, DeviceException {

    private final Errno errno;

    BlockException(Errno errno, String message, Throwable cause) {
        super(message, cause);
        this.errno = errno;
    }

    /** The error number to report to the client. */
    public Errno errno() {
        return errno;
    }
}
