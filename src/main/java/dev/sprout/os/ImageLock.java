package dev.sprout.os;

import java.io.Closeable;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.EnumSet;
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
    private static final int EAGAIN = 11;
    private static final int ENOLCK = 37;

    /** struct flock: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid. */
    private static final StructLayout FLOCK = MemoryLayout.structLayout(
            ValueLayout.JAVA_SHORT.withName("l_type"), ValueLayout.JAVA_SHORT.withName("l_whence"),
            MemoryLayout.paddingLayout(4), ValueLayout.JAVA_LONG.withName("l_start"),
            ValueLayout.JAVA_LONG.withName("l_len"), ValueLayout.JAVA_INT.withName("l_pid"), MemoryLayout.paddingLayout(4));

    /** The file, for messages. */
    private final Path path;
    /** The descriptor holding the locks, or -1 when nothing is locked. */
    private int fd;

    private ImageLock(Path path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    /** Whether locks reach the kernel here; the first call binds the one downcall handle (see {@link NativeFile#prepare}). */
    public static boolean available() {
        return LibC.available();
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
        if (!LibC.available() || path.getFileSystem() != FileSystems.getDefault()) {
            return new ImageLock(path, -1);
        }
        int fd = LibC.open(path, false, "open(O_RDONLY) for locking");
        ImageLock lock = new ImageLock(path, fd);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment flock = arena.allocate(FLOCK);
            MemorySegment state = LibC.callState(arena);
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
                LibC.call(LibC.callState(arena), Syscall.CLOSE, fd);
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
    private static boolean setReadLock(Path path, int fd, long offset, MemorySegment flock, MemorySegment state) throws IOException {
        fill(flock, F_RDLCK, offset);
        if (LibC.call(state, Syscall.FCNTL, fd, F_OFD_SETLK, LibC.pointer(flock)) == 0) {
            return true;
        }
        int errno = LibC.errno(state);
        if (errno == EAGAIN || errno == NativeException.EACCES) {
            throw new IOException(path + " is locked: another process holds byte " + offset + " exclusively");
        }
        if (errno == NativeException.EINVAL || errno == ENOLCK || errno == NativeException.EOPNOTSUPP) {
            return false;
        }
        throw new NativeException("fcntl(F_OFD_SETLK)", path, errno);
    }

    /** Whether another open file description holds a lock on the byte (F_OFD_GETLK with F_WRLCK). */
    private static boolean lockedElsewhere(Path path, int fd, long offset, MemorySegment flock, MemorySegment state) throws IOException {
        fill(flock, F_WRLCK, offset);
        if (LibC.call(state, Syscall.FCNTL, fd, F_OFD_GETLK, LibC.pointer(flock)) != 0) {
            throw new NativeException("fcntl(F_OFD_GETLK)", path, LibC.errno(state));
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
}
