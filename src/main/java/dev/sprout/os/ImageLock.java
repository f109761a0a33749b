package dev.sprout.os;

import java.io.Closeable;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * Image locking as QEMU does it, so sprout and QEMU keep each other from writing one image at
 * once. QEMU (block/file-posix.c) marks each permission it uses by a shared open-file-description
 * lock (fcntl(2) F_OFD_SETLK, F_RDLCK) on byte 100 + the permission's bit number, and each
 * permission it does not let others have on byte 200 + that number; before it goes on it tests
 * that nobody marks a permission it uses as unshared, and nobody uses one it does not share.
 *
 * <p>OFD locks belong to the descriptor this class opens for them alone: closing other descriptors
 * of the same file (which would drop a process's POSIX record locks) leaves them in place. Where
 * native calls or OFD locks are unavailable the lock holds nothing.
 */
public final class ImageLock implements Closeable {

    /** QEMU's block permissions (BLK_PERM_*): the ordinal is the bit number. */
    public enum Permission {
        CONSISTENT_READ("consistent read"), WRITE("write"), WRITE_UNCHANGED("write unchanged"), RESIZE("resize");

        private final String shown;

        Permission(String shown) {
            this.shown = shown;
        }
    }

    private static final long PERM_BASE = 100;
    private static final long SHARED_BASE = 200;
    // fcntl.h (Linux, every 64-bit architecture)
    private static final int F_OFD_GETLK = 36;
    private static final int F_OFD_SETLK = 37;
    private static final short F_RDLCK = 0;
    private static final short F_WRLCK = 1;
    private static final short F_UNLCK = 2;
    private static final short SEEK_SET = 0;
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;
    private static final int EAGAIN = 11;
    private static final int ENOLCK = 37;

    /** struct flock: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid. */
    private static final StructLayout FLOCK = MemoryLayout.structLayout(
            ValueLayout.JAVA_SHORT.withName("l_type"), ValueLayout.JAVA_SHORT.withName("l_whence"),
            MemoryLayout.paddingLayout(4), ValueLayout.JAVA_LONG.withName("l_start"),
            ValueLayout.JAVA_LONG.withName("l_len"), ValueLayout.JAVA_INT.withName("l_pid"), MemoryLayout.paddingLayout(4));
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final long ERRNO_OFFSET = CALL_STATE.byteOffset(MemoryLayout.PathElement.groupElement("errno"));

    /** The bound libc functions, or null without native access on 64-bit Linux. */
    private static final LibC LIBC = LibC.link();

    /** The file, for messages. */
    private final Path path;
    /** The descriptor holding the locks, or -1 when nothing is locked. */
    private int fd;

    private ImageLock(Path path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    /** Whether locks reach the kernel here; the first call binds the libc functions (see {@link NativeFile#prepare}). */
    public static boolean available() {
        return LIBC != null;
    }

    /**
     * Locks the image as a writer: it uses every permission and shares only consistent read and
     * unchanged writes, as QEMU's writers do. Fails, naming the conflict, when another process
     * (QEMU or sprout) writes the image or has it open and forbids writing.
     */
    public static ImageLock forWriter(Path path) throws IOException {
        return lock(path, EnumSet.allOf(Permission.class), EnumSet.of(Permission.CONSISTENT_READ, Permission.WRITE_UNCHANGED));
    }

    /**
     * Locks the image as a reader that needs it to hold still (a consistency check): it uses
     * consistent reads and forbids writing and resizing, as QEMU's readers without force-share do.
     * Fails when another process writes the image.
     */
    public static ImageLock forReader(Path path) throws IOException {
        return lock(path, EnumSet.of(Permission.CONSISTENT_READ),
                EnumSet.of(Permission.CONSISTENT_READ, Permission.WRITE_UNCHANGED));
    }

    /** Marks {@code used} permissions as used and the others than {@code shared} as not shared, then checks. */
    public static ImageLock lock(Path path, Set<Permission> used, Set<Permission> shared) throws IOException {
        if (LIBC == null || path.getFileSystem() != FileSystems.getDefault()) {
            return new ImageLock(path, -1);
        }
        int fd = open(path);
        ImageLock lock = new ImageLock(path, fd);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment flock = arena.allocate(FLOCK);
            MemorySegment state = arena.allocate(CALL_STATE);
            for (Permission p : Permission.values()) {
                if ((used.contains(p) && !setReadLock(path, fd, PERM_BASE + p.ordinal(), flock, state))
                        || (!shared.contains(p) && !setReadLock(path, fd, SHARED_BASE + p.ordinal(), flock, state))) {
                    lock.close();
                    return new ImageLock(path, -1); // no OFD locks on this file system
                }
            }
            for (Permission p : Permission.values()) {
                if (used.contains(p) && lockedElsewhere(path, fd, SHARED_BASE + p.ordinal(), flock, state)) {
                    throw conflict(path, "has it open and does not allow others to " + p.shown);
                }
                if (!shared.contains(p) && lockedElsewhere(path, fd, PERM_BASE + p.ordinal(), flock, state)) {
                    throw conflict(path, "has it open for " + p.shown);
                }
            }
            return lock;
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        } catch (Throwable e) {
            lock.close();
            throw new IllegalStateException("fcntl downcall failed for " + path, e);
        }
    }

    /** Whether this lock holds OFD locks (false where they are unavailable). */
    public boolean held() {
        return fd >= 0;
    }

    /** Releases the locks (closing their descriptor). */
    @Override
    public synchronized void close() {
        if (fd >= 0) {
            try (Arena arena = Arena.ofConfined()) {
                int ignored = (int) LIBC.close.invokeExact(arena.allocate(CALL_STATE), fd);
            } catch (Throwable e) {
                throw new IllegalStateException("close downcall failed for " + path, e);
            } finally {
                fd = -1;
            }
        }
    }

    private static IOException conflict(Path path, String what) {
        return new IOException(path + " is locked: another process (QEMU or sprout) " + what
                + "; close it there first");
    }

    /** Takes a shared lock on one byte; false where the file system has no OFD locks. */
    private static boolean setReadLock(Path path, int fd, long offset, MemorySegment flock, MemorySegment state) throws Throwable {
        fill(flock, F_RDLCK, offset);
        int result = (int) LIBC.fcntl.invokeExact(state, fd, F_OFD_SETLK, flock);
        if (result == 0) {
            return true;
        }
        int errno = state.get(ValueLayout.JAVA_INT, ERRNO_OFFSET);
        if (errno == EAGAIN || errno == NativeException.EACCES) {
            throw new IOException(path + " is locked: another process holds byte " + offset + " exclusively");
        }
        if (errno == NativeException.EINVAL || errno == ENOLCK || errno == NativeException.EOPNOTSUPP) {
            return false;
        }
        throw new NativeException("fcntl(F_OFD_SETLK)", path, errno);
    }

    /** Whether another open file description holds a lock on the byte (F_OFD_GETLK with F_WRLCK). */
    private static boolean lockedElsewhere(Path path, int fd, long offset, MemorySegment flock, MemorySegment state) throws Throwable {
        fill(flock, F_WRLCK, offset);
        int result = (int) LIBC.fcntl.invokeExact(state, fd, F_OFD_GETLK, flock);
        if (result != 0) {
            throw new NativeException("fcntl(F_OFD_GETLK)", path, state.get(ValueLayout.JAVA_INT, ERRNO_OFFSET));
        }
        return flock.get(ValueLayout.JAVA_SHORT, 0) != F_UNLCK;
    }

    private static void fill(MemorySegment flock, short type, long offset) {
        flock.fill((byte) 0);
        flock.set(ValueLayout.JAVA_SHORT, 0, type);
        flock.set(ValueLayout.JAVA_SHORT, 2, SEEK_SET);
        flock.set(ValueLayout.JAVA_LONG, 8, offset);
        flock.set(ValueLayout.JAVA_LONG, 16, 1);
    }

    private static int open(Path path) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment name = arena.allocateFrom(path.toAbsolutePath().toString());
            int fd;
            do {
                fd = (int) LIBC.open.invokeExact(state, name, O_RDONLY | O_CLOEXEC, 0);
            } while (fd < 0 && state.get(ValueLayout.JAVA_INT, ERRNO_OFFSET) == NativeException.EINTR);
            if (fd < 0) {
                throw new NativeException("open(O_RDONLY) for locking", path, state.get(ValueLayout.JAVA_INT, ERRNO_OFFSET));
            }
            return fd;
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("open downcall failed for " + path, e);
        }
    }

    /** open(2), fcntl(2) and close(2), each taking the errno capture segment first. */
    private record LibC(MethodHandle open, MethodHandle fcntl, MethodHandle close) {

        /** Binds them, or returns null where native calls are unavailable. */
        @SuppressWarnings("restricted") // os is the one package that links native code
        static LibC link() {
            if (!NativeFile.available() || !System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")) {
                return null;
            }
            Linker linker = Linker.nativeLinker();
            Linker.Option errno = Linker.Option.captureCallState("errno");
            ValueLayout.OfInt cInt = ValueLayout.JAVA_INT;
            try {
                return new LibC(
                        // int open(const char *path, int flags, ... /* mode_t mode */)
                        linker.downcallHandle(linker.defaultLookup().find("open").orElseThrow(),
                                FunctionDescriptor.of(cInt, ValueLayout.ADDRESS, cInt, cInt), errno, Linker.Option.firstVariadicArg(2)),
                        // int fcntl(int fd, int cmd, ... /* struct flock *lock */)
                        linker.downcallHandle(linker.defaultLookup().find("fcntl").orElseThrow(),
                                FunctionDescriptor.of(cInt, cInt, cInt, ValueLayout.ADDRESS), errno, Linker.Option.firstVariadicArg(2)),
                        linker.downcallHandle(linker.defaultLookup().find("close").orElseThrow(),
                                FunctionDescriptor.of(cInt, cInt), errno));
            } catch (RuntimeException | LinkageError e) {
                return null;
            }
        }
    }
}
