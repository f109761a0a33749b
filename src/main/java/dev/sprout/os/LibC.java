package dev.sprout.os;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Objects;

/**
 * The libc functions {@link NativeFile} calls, each bound on its first use (one holder class a
 * function). Binding one makes the JVM spin a downcall stub, 10-20 ms of a cold start each, and
 * the image tools need few of them: a copy between files calls open, lseek and close, never
 * fallocate, posix_fadvise, ioctl or preadv2. Each takes the errno capture segment first, except
 * posix_fadvise, which returns its error.
 */
final class LibC {

    /** Makes a downcall store errno into the capture segment passed first. */
    static final Linker.Option ERRNO = Linker.Option.captureCallState("errno");
    private static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong OFF_T = ValueLayout.JAVA_LONG;

    private LibC() {
    }

    /**
     * int close(int fd). {@link NativeFile} binds it as its class is initialised, and whether that
     * works tells whether native calls are possible here at all.
     */
    static MethodHandle bindClose() {
        return bind("close", FunctionDescriptor.of(C_INT, C_INT), ERRNO);
    }

    /** Binds open and lseek now (reading a holder's field initialises it); close is bound already. */
    static void bindFileCalls() {
        Objects.requireNonNull(Open.HANDLE);
        Objects.requireNonNull(Lseek.HANDLE);
    }

    /** int open(const char *path, int flags, ... mode_t mode). */
    static final class Open {
        static final MethodHandle HANDLE = bind("open", FunctionDescriptor.of(C_INT, ValueLayout.ADDRESS, C_INT, C_INT),
                ERRNO, Linker.Option.firstVariadicArg(2));
    }

    /** int fallocate(int fd, int mode, off_t offset, off_t len). */
    static final class Fallocate {
        static final MethodHandle HANDLE = bind("fallocate", FunctionDescriptor.of(C_INT, C_INT, C_INT, OFF_T, OFF_T), ERRNO);
    }

    /** off_t lseek(int fd, off_t offset, int whence). */
    static final class Lseek {
        static final MethodHandle HANDLE = bind("lseek", FunctionDescriptor.of(OFF_T, C_INT, OFF_T, C_INT), ERRNO);
    }

    /** int posix_fadvise(int fd, off_t offset, off_t len, int advice). */
    static final class Fadvise {
        static final MethodHandle HANDLE = bind("posix_fadvise", FunctionDescriptor.of(C_INT, C_INT, OFF_T, OFF_T, C_INT));
    }

    /** int sync_file_range(int fd, off64_t offset, off64_t nbytes, unsigned int flags). */
    static final class SyncFileRange {
        static final MethodHandle HANDLE = bind("sync_file_range", FunctionDescriptor.of(C_INT, C_INT, OFF_T, OFF_T, C_INT),
                ERRNO);
    }

    /** int ioctl(int fd, unsigned long request, ... void *arg). */
    static final class Ioctl {
        static final MethodHandle HANDLE = bind("ioctl", FunctionDescriptor.of(C_INT, C_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
                ERRNO, Linker.Option.firstVariadicArg(2));
    }

    /** ssize_t preadv2(int fd, const struct iovec *iov, int iovcnt, off_t offset, int flags). */
    static final class Preadv2 {
        static final MethodHandle HANDLE = bind("preadv2",
                FunctionDescriptor.of(ValueLayout.JAVA_LONG, C_INT, ValueLayout.ADDRESS, C_INT, OFF_T, C_INT), ERRNO);
    }

    @SuppressWarnings("restricted") // os is the one package that links native code
    private static MethodHandle bind(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        Linker linker = Linker.nativeLinker();
        MemorySegment address = linker.defaultLookup().find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        return linker.downcallHandle(address, descriptor, options);
    }
}
