package dev.sprout.block;

/** A request the device refuses as given: out of range, not permitted, not supported fast. */
public final class RequestException extends BlockException {

    public RequestException(Errno errno, String message) {
        super(errno, message, null);
    }

    /** A range that does not fit inside a device of {@code size} bytes. */
    public static RequestException outOfRange(Errno errno, long offset, long length, long size) {
        return new RequestException(errno, "range " + offset + "+" + length + " exceeds size " + size);
    }

    /** A modification of a read-only device. */
    public static RequestException readOnly(String operation, Object device) {
        return new RequestException(Errno.EPERM, operation + " on read-only " + device);
    }

    /** A FAST_ZERO request the device cannot serve faster than writing zeroes. */
    public static RequestException notFast(Object device) {
        return new RequestException(Errno.ENOTSUP, "fast zero not possible on " + device);
    }
}
