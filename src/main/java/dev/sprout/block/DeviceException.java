package dev.sprout.block;

/** The device failed: an I/O error, a full host disk, an injected fault, a shutdown. */
public final class DeviceException extends BlockException {

    public DeviceException(Errno errno, String message) {
        super(errno, message, null);
    }

    public DeviceException(Errno errno, String message, Throwable cause) {
        super(errno, message, cause);
    }
}
