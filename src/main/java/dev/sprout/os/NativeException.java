package dev.sprout.os;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A failed libc call: the call, the file and the errno, with predicates for the errnos callers
 * act on rather than report.
 */
public final class NativeException extends IOException {

    // Linux errno values (asm-generic/errno-base.h, asm-generic/errno.h), shared by every 64-bit
    // architecture the JDK supports.
    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final int EINTR = 4;
    static final int EIO = 5;
    static final int ENXIO = 6;
    static final int EBADF = 9;
    static final int EAGAIN = 11;
    static final int ENOMEM = 12;
    static final int EACCES = 13;
    static final int ENODEV = 19;
    static final int ENOTDIR = 20;
    static final int EISDIR = 21;
    static final int EINVAL = 22;
    static final int EMFILE = 24;
    static final int ENOTTY = 25;
    static final int EFBIG = 27;
    static final int ENOSPC = 28;
    static final int ESPIPE = 29;
    static final int EROFS = 30;
    static final int EPIPE = 32;
    static final int ENOSYS = 38;
    static final int ELOOP = 40;
    static final int EOPNOTSUPP = 95;
    static final int ECONNRESET = 104;
    static final int EDQUOT = 122;

    /** The errno, or {@link #ENOSYS} when the JVM cannot call native code at all. */
    private final int errno;
    /** Whether the file system or the JVM lacks the call, so the caller should fall back. */
    private final boolean notSupported;

    NativeException(String call, Path path, int errno) {
        this(call, path, errno, describe(errno), errno == EOPNOTSUPP || errno == ENOSYS);
    }

    NativeException(String call, Path path, int errno, String detail, boolean notSupported) {
        this(call, path.toString(), errno, detail, notSupported);
    }

    /** A failed call on something that is not a file, such as a pipe or a socket, named by {@code subject}. */
    NativeException(String call, String subject, int errno) {
        this(call, subject, errno, describe(errno), errno == EOPNOTSUPP || errno == ENOSYS);
    }

    private NativeException(String call, String subject, int errno, String detail, boolean notSupported) {
        super(call + " on " + subject + ": " + detail + " (" + name(errno) + ")");
        this.errno = errno;
        this.notSupported = notSupported;
    }

    /** The Linux errno value. */
    public int errno() {
        return errno;
    }

    /** The symbolic name of the errno, such as {@code EOPNOTSUPP}. */
    public String errnoName() {
        return name(errno);
    }

    /**
     * Whether the call is not available here (EOPNOTSUPP, which Linux also calls ENOTSUP; ENOSYS;
     * or no native access): nothing changed, and the caller may fall back to another method.
     */
    public boolean notSupported() {
        return notSupported;
    }

    /** Whether the host ran out of room: ENOSPC, EDQUOT or EFBIG. */
    public boolean noSpace() {
        return errno == ENOSPC || errno == EDQUOT || errno == EFBIG;
    }

    private static String name(int errno) {
        return switch (errno) {
            case EPERM -> "EPERM";
            case ENOENT -> "ENOENT";
            case EINTR -> "EINTR";
            case EIO -> "EIO";
            case ENXIO -> "ENXIO";
            case EBADF -> "EBADF";
            case EAGAIN -> "EAGAIN";
            case ENOMEM -> "ENOMEM";
            case EACCES -> "EACCES";
            case ENODEV -> "ENODEV";
            case ENOTDIR -> "ENOTDIR";
            case EISDIR -> "EISDIR";
            case EINVAL -> "EINVAL";
            case EMFILE -> "EMFILE";
            case ENOTTY -> "ENOTTY";
            case EFBIG -> "EFBIG";
            case ENOSPC -> "ENOSPC";
            case ESPIPE -> "ESPIPE";
            case EROFS -> "EROFS";
            case EPIPE -> "EPIPE";
            case ENOSYS -> "ENOSYS";
            case ELOOP -> "ELOOP";
            case EOPNOTSUPP -> "EOPNOTSUPP";
            case ECONNRESET -> "ECONNRESET";
            case EDQUOT -> "EDQUOT";
            default -> "errno " + errno;
        };
    }

    /** strerror(3) text for the errnos these calls return; fixed English whatever the locale. */
    static String describe(int errno) {
        return switch (errno) {
            case EPERM -> "Operation not permitted";
            case ENOENT -> "No such file or directory";
            case EINTR -> "Interrupted system call";
            case EIO -> "Input/output error";
            case ENXIO -> "No such device or address";
            case EBADF -> "Bad file descriptor";
            case EAGAIN -> "Resource temporarily unavailable";
            case ENOMEM -> "Cannot allocate memory";
            case EACCES -> "Permission denied";
            case ENODEV -> "No such device";
            case ENOTDIR -> "Not a directory";
            case EISDIR -> "Is a directory";
            case EINVAL -> "Invalid argument";
            case EMFILE -> "Too many open files";
            case ENOTTY -> "Inappropriate ioctl for device";
            case EFBIG -> "File too large";
            case ENOSPC -> "No space left on device";
            case ESPIPE -> "Illegal seek";
            case EROFS -> "Read-only file system";
            case EPIPE -> "Broken pipe";
            case ENOSYS -> "Function not implemented";
            case ELOOP -> "Too many levels of symbolic links";
            case EOPNOTSUPP -> "Operation not supported on this filesystem";
            case ECONNRESET -> "Connection reset by peer";
            case EDQUOT -> "Disk quota exceeded";
            default -> "Unknown error " + errno;
        };
    }
}
