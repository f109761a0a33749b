package dev.sprout.os;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * libc's {@code long syscall(long number, ...)}, the one native function {@link NativeFile} and
 * {@link ImageLock} call: every {@link Syscall} goes through one downcall handle, bound as this
 * class is initialised. Binding a handle makes the JVM spin a downcall stub for its signature:
 * on two cores with the AOT cache the first costs a cold start ~30 ms (~7 of them the linker's
 * own start) and each further signature ~6 ms, plus C1 compilations that compete with the real
 * work. One signature for every call costs one stub where binding each libc function cost four
 * at a copy's start (close, open, lseek, fcntl): binding went from ~59 to ~39 ms and compilations
 * from ~490 to ~300 in a probe that then opens, seeks and locks a file, and a {@code sprout copy}
 * of 64 MiB from ~205 to ~173 ms.
 *
 * <p>Each call passes six arguments (the kernel ignores those a call does not take) and captures
 * errno. Pointers are passed as {@linkplain MemorySegment#address() addresses}, so the caller
 * keeps their memory alive across the call.
 */
final class LibC {

    // asm-generic/fcntl.h and linux/fcntl.h
    private static final int O_RDONLY = 0;
    private static final int O_RDWR = 2;
    /** Closed across exec(2); for every descriptor the package opens (files, pipes). */
    static final int O_CLOEXEC = 0x80000;
    /** openat's directory descriptor that stands for the working directory. */
    private static final int AT_FDCWD = -100;

    /** The capture segment's layout; {@link #callState} allocates one. */
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final long ERRNO_OFFSET = CALL_STATE.byteOffset(MemoryLayout.PathElement.groupElement("errno"));

    /** The numbers of this machine's system calls; null where there is no table for it. */
    private static final Syscall.Architecture ARCHITECTURE = Syscall.Architecture.current();
    /** Why native calls are unavailable, or null when they are available. */
    private static final String UNAVAILABLE;
    /** syscall(2) taking the capture segment first, then the number and six arguments; null when unavailable. */
    private static final MethodHandle SYSCALL;

    static {
        String reason = null;
        MethodHandle handle = null;
        if (ARCHITECTURE == null) {
            reason = "native calls are only made on Linux on x86_64, aarch64, riscv64 and loongarch64";
        } else {
            try {
                handle = bind();
            } catch (RuntimeException | LinkageError e) { // IllegalCallerException when access is denied
                reason = "native access unavailable (" + e + "); run with --enable-native-access=ALL-UNNAMED";
                System.getLogger(LibC.class.getName()).log(System.Logger.Level.WARNING,
                        reason + "; trim, zero, extents and cache fall back to portable behaviour, image locks hold nothing");
            }
        }
        UNAVAILABLE = reason;
        SYSCALL = handle;
    }

    private LibC() {
    }

    /** Whether the handle is bound; the first call binds it. Without it every call is unavailable. */
    static boolean available() {
        return SYSCALL != null;
    }

    /** Why native calls are unavailable, or null when they are {@linkplain #available() available}. */
    static String unavailable() {
        return UNAVAILABLE;
    }

    /** Each thread's capture segment for {@link #callOrError}, so that hot paths make no arena per call. */
    private static final ThreadLocal<MemorySegment> THREAD_STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CALL_STATE));

    /** A segment for a call to capture errno in; {@link #errno} reads it. */
    static MemorySegment callState(Arena arena) {
        return arena.allocate(CALL_STATE);
    }

    /** The errno the last call that failed stored in {@code state}. */
    static int errno(MemorySegment state) {
        return state.get(ValueLayout.JAVA_INT, ERRNO_OFFSET);
    }

    /**
     * Opens {@code path} read-write or read-only with O_CLOEXEC (openat(2) from the working
     * directory), retrying on EINTR, and returns the descriptor; a failure is a NativeException
     * naming {@code call}. Only when {@link #available()}.
     */
    static int open(Path path, boolean writable, String call) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = callState(arena);
            long name = pointer(arena.allocateFrom(path.toAbsolutePath().toString()));
            int flags = (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC;
            long fd;
            do {
                fd = call(state, Syscall.OPENAT, AT_FDCWD, name, flags, 0);
            } while (fd < 0 && errno(state) == NativeException.EINTR);
            if (fd < 0) {
                throw new NativeException(call, path, errno(state));
            }
            return (int) fd;
        }
    }

    /** The address of native memory, to pass as a pointer argument. */
    static long pointer(MemorySegment segment) {
        if (!segment.isNative()) {
            throw new IllegalArgumentException("not native memory: " + segment);
        }
        return segment.address();
    }

    /** Makes a call of one argument; see {@link #call(MemorySegment, Syscall, long, long, long, long, long, long)}. */
    static long call(MemorySegment state, Syscall call, long a1) {
        return call(state, call, a1, 0, 0, 0, 0, 0);
    }

    /** Makes a call of three arguments; see {@link #call(MemorySegment, Syscall, long, long, long, long, long, long)}. */
    static long call(MemorySegment state, Syscall call, long a1, long a2, long a3) {
        return call(state, call, a1, a2, a3, 0, 0, 0);
    }

    /** Makes a call of four arguments; see {@link #call(MemorySegment, Syscall, long, long, long, long, long, long)}. */
    static long call(MemorySegment state, Syscall call, long a1, long a2, long a3, long a4) {
        return call(state, call, a1, a2, a3, a4, 0, 0);
    }

    /**
     * Makes the system call {@code call} with the arguments in the kernel's order, and returns its
     * result: -1 when it failed, with its errno in {@code state}. Only when {@link #available()}.
     */
    static long call(MemorySegment state, Syscall call, long a1, long a2, long a3, long a4, long a5, long a6) {
        try {
            return (long) SYSCALL.invokeExact(state, call.number(ARCHITECTURE), a1, a2, a3, a4, a5, a6);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) { // invokeExact declares it; syscall(2) throws nothing
            throw new IllegalStateException("syscall(" + call + ") downcall failed", e);
        }
    }

    /**
     * Makes the call as {@link #call(MemorySegment, Syscall, long, long, long, long, long, long)}
     * does, capturing errno in this thread's own segment, and returns its result, or the errno
     * negated when it failed (as the kernel itself returns it).
     */
    static long callOrError(Syscall call, long a1, long a2, long a3, long a4, long a5, long a6) {
        MemorySegment state = THREAD_STATE.get();
        long result = call(state, call, a1, a2, a3, a4, a5, a6);
        return result < 0 ? -errno(state) : result;
    }

    @SuppressWarnings("restricted") // os is the one package that links native code
    private static MethodHandle bind() {
        Linker linker = Linker.nativeLinker();
        MemorySegment address = linker.defaultLookup().find("syscall")
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no syscall"));
        ValueLayout.OfLong cLong = ValueLayout.JAVA_LONG;
        FunctionDescriptor descriptor = FunctionDescriptor.of(cLong, cLong, cLong, cLong, cLong, cLong, cLong, cLong);
        return linker.downcallHandle(address, descriptor,
                Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
    }
}
