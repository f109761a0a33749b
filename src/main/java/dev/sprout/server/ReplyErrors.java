package dev.sprout.server;

import dev.sprout.block.BlockException;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.RequestException;
import dev.sprout.nbd.NbdError;

import java.lang.System.Logger.Level;

/**
 * The one place that turns a failure into the error a client sees, and decides how loudly to
 * log it: the client's mistakes are warnings, device failures are warnings with the device's
 * message, anything unexpected is an error with its stack trace and reaches the client as EIO.
 */
final class ReplyErrors {

    private static final System.Logger LOG = System.getLogger(ReplyErrors.class.getName());

    private ReplyErrors() {
    }

    static NbdError toNbd(Errno errno) {
        return switch (errno) {
            case EPERM -> NbdError.EPERM;
            case EIO -> NbdError.EIO;
            case ENOMEM -> NbdError.ENOMEM;
            case EINVAL -> NbdError.EINVAL;
            case ENOSPC -> NbdError.ENOSPC;
            case EOVERFLOW -> NbdError.EOVERFLOW;
            case ENOTSUP -> NbdError.ENOTSUP;
            case ESHUTDOWN -> NbdError.ESHUTDOWN;
        };
    }

    /** Logs {@code failure} of {@code what} and returns the error to send. */
    static NbdError report(String what, Throwable failure) {
        return switch (failure) {
            case RequestException e -> {
                // FAST_ZERO refusals are routine: clients probe with them.
                Level level = e.errno() == Errno.ENOTSUP ? Level.DEBUG : Level.WARNING;
                LOG.log(level, "{0}: {1}: {2}", what, e.errno(), e.getMessage());
                yield toNbd(e.errno());
            }
            case DeviceException e -> {
                LOG.log(Level.WARNING, "{0}: {1}: {2}", what, e.errno(), e.getMessage());
                yield toNbd(e.errno());
            }
            default -> {
                LOG.log(Level.ERROR, what + ": unexpected failure", failure);
                yield NbdError.EIO;
            }
        };
    }

    /** The message sent with a structured error chunk. */
    static String message(Throwable failure) {
        if (failure instanceof BlockException e && e.getMessage() != null) {
            return e.getMessage();
        }
        return Errno.EIO.description();
    }
}
