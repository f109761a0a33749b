package dev.sprout.os;

import java.io.Closeable;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A descriptor of its own on a regular file or block device for the system calls NIO lacks:
 * fallocate(2), lseek(2) with SEEK_DATA/SEEK_HOLE, posix_fadvise(2), preadv2(2) with RWF_NOWAIT,
 * fstatfs(2), and the block device ioctl(2)s of {@link DeviceIoctls}. With {@link ImageLock}, the
 * only code in sprout that makes them (through {@link LibC}, one downcall handle for all).
 *
 * <p>Where the JVM denies native access, the platform is not Linux on one of {@link Syscall}'s architectures, or the path is not on
 * the default file system, {@link #open} still succeeds but every call fails with a
 * {@link NativeException} that is {@linkplain NativeException#notSupported() not supported}: callers
 * need only one fallback, for "this file system cannot" and "this process cannot" alike.
 */
public final class NativeFile implements Closeable {

    // linux/falloc.h
    private static final int FALLOC_FL_KEEP_SIZE = 0x01;
    private static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    private static final int FALLOC_FL_ZERO_RANGE = 0x10;
    // unistd.h (Linux values; macOS swaps them)
    private static final int SEEK_DATA = 3;
    private static final int SEEK_HOLE = 4;
    private static final int POSIX_FADV_WILLNEED = 3;
    private static final int POSIX_FADV_DONTNEED = 4;
    /** sync_file_range(2) flags. */
    private static final int SYNC_FILE_RANGE_WAIT_BEFORE = 1;
    private static final int SYNC_FILE_RANGE_WRITE = 2;
    private static final int SYNC_FILE_RANGE_WAIT_AFTER = 4;
    // linux/fs.h: fail with EAGAIN instead of waiting for I/O
    private static final int RWF_NOWAIT = 0x08;
    private static final MemoryLayout IOVEC = MemoryLayout.structLayout(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG);
    // linux/magic.h
    private static final long TMPFS_MAGIC = 0x01021994L;
    private static final long RAMFS_MAGIC = 0x858458f6L;
    /**
     * Room for struct statfs: 120 bytes on 64-bit Linux (asm-generic/statfs.h and x86_64's alike),
     * whose first field, f_type, is a long.
     */
    private static final MemoryLayout STATFS = MemoryLayout.sequenceLayout(16, ValueLayout.JAVA_LONG);

    /** The descriptor value of a file without native access. */
    private static final int NO_FD = -1;
    /** The descriptor value after {@link #close}. */
    private static final int CLOSED = -2;

    /** The file, for error messages. */
    private final Path path;
    /** Readers use {@link #fd}; {@link #close} takes the write lock so no call can reach a reused descriptor. */
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    /** The open descriptor, {@link #NO_FD} or {@link #CLOSED}; guarded by {@link #lock}. */
    private int fd;
    /** Whether {@link #fd} was opened through libc, rather than standing in for it. */
    private final boolean bound;
    /** Cleared when preadv2 with RWF_NOWAIT turns out to be unsupported here. */
    private volatile boolean noWaitReads = true;

    private NativeFile(Path path, int fd) {
        this.path = path;
        this.fd = fd;
        this.bound = fd >= 0;
    }

    /** Whether this JVM can make the native calls; without them every call is not supported. The first call binds them. */
    public static boolean available() {
        return LibC.available();
    }

    /**
     * Binds, ahead of use, the one downcall handle every call goes through (see {@link LibC}): it
     * costs a cold JVM ~30-40 ms, which a thread can spend while the command line is parsed.
     */
    public static void prepare() {
        LibC.available();
    }

    /** Opens {@code path} read-write or read-only (open(2) with O_CLOEXEC). */
    public static NativeFile open(Path path, boolean writable) throws NativeException {
        if (!LibC.available() || path.getFileSystem() != FileSystems.getDefault()) {
            return unsupported(path);
        }
        return new NativeFile(path, LibC.open(path, writable, writable ? "open(O_RDWR)" : "open(O_RDONLY)"));
    }

    /** A file on which every call is not supported: the fallback without native access. */
    public static NativeFile unsupported(Path path) {
        return new NativeFile(path, NO_FD);
    }

    /** Whether calls reach the kernel (they may still be unsupported by the file system). */
    public boolean isNative() {
        return bound;
    }

    /**
     * Deallocates the range; it reads as zeroes afterwards (fallocate(2): "Partial filesystem
     * blocks are zeroed, and whole filesystem blocks are removed from the file"). The size stays.
     */
    public void punchHole(long offset, long length) throws NativeException {
        fallocate("PUNCH_HOLE|KEEP_SIZE", FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
    }

    /** Zeroes the range, leaving it allocated (fallocate(2) FALLOC_FL_ZERO_RANGE). The size stays. */
    public void zeroRange(long offset, long length) throws NativeException {
        fallocate("ZERO_RANGE|KEEP_SIZE", FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, offset, length);
    }

    /** Allocates the holes in the range without changing any data or the size. */
    public void allocate(long offset, long length) throws NativeException {
        fallocate("KEEP_SIZE", FALLOC_FL_KEEP_SIZE, offset, length);
    }

    /**
     * The start of the first data at or after {@code offset}, or -1 when none follows (lseek(2):
     * ENXIO). File systems without hole tracking report the whole file as data.
     */
    public long seekData(long offset) throws NativeException {
        return lseek("SEEK_DATA", SEEK_DATA, offset);
    }

    /**
     * The start of the first hole at or after {@code offset}; the end of the file counts as a hole.
     * Returns -1 when {@code offset} is at or past the end of the file.
     */
    public long seekHole(long offset) throws NativeException {
        return lseek("SEEK_HOLE", SEEK_HOLE, offset);
    }

    /** Starts reading the range into the page cache (posix_fadvise(2) POSIX_FADV_WILLNEED). */
    public void willNeed(long offset, long length) throws NativeException {
        fadvise("WILLNEED", POSIX_FADV_WILLNEED, offset, length);
    }

    /** Starts writing the range's dirty pages to the disk and returns at once (sync_file_range(2) WRITE). */
    public void startWriteback(long offset, long length) throws NativeException {
        syncFileRange(offset, length, SYNC_FILE_RANGE_WRITE);
    }

    /**
     * Waits until the range's pages are on the disk, then drops them from the page cache
     * (sync_file_range(2) WAIT_BEFORE|WRITE|WAIT_AFTER, then posix_fadvise(2) DONTNEED). Not a
     * flush: the file's metadata and the disk's own cache are not forced.
     */
    public void writeBackAndDrop(long offset, long length) throws NativeException {
        syncFileRange(offset, length, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
        fadvise("DONTNEED", POSIX_FADV_DONTNEED, offset, length);
    }

    private void fadvise(String name, int advice, long offset, long length) throws NativeException {
        String call = "posix_fadvise(" + name + ", " + offset + "+" + length + ")";
        succeed(call, (state, file) -> LibC.call(state, Syscall.FADVISE64, file, offset, length, advice));
    }

    private void syncFileRange(long offset, long length, int flags) throws NativeException {
        String call = "sync_file_range(" + offset + "+" + length + ", " + flags + ")";
        succeed(call, (state, file) -> LibC.call(state, Syscall.SYNC_FILE_RANGE, file, offset, length, flags));
    }

    /**
     * Fills {@code dst} from {@code offset} only if every byte is in the page cache (preadv2(2)
     * with RWF_NOWAIT), advancing its position, and says whether it did. False, having read
     * nothing, for heap buffers, when the data is not all cached, and on any failure: the
     * caller's ordinary read then waits for the disk or reports the error. Where the kernel or
     * file system cannot tell without waiting, later calls skip the attempt.
     */
    public boolean readIfCached(long offset, ByteBuffer dst) {
        if (!noWaitReads || !dst.isDirect()) {
            return false;
        }
        MemorySegment bytes = MemorySegment.ofBuffer(dst);
        long length = bytes.byteSize();
        long result;
        try {
            result = syscall("preadv2(RWF_NOWAIT)", (state, file) -> {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment iov = arena.allocate(IOVEC);
                    iov.set(ValueLayout.ADDRESS, 0, bytes);
                    iov.set(ValueLayout.JAVA_LONG, ValueLayout.ADDRESS.byteSize(), length);
                    // The offset's high half is 0 on 64-bit (see Syscall.PREADV2).
                    return LibC.call(state, Syscall.PREADV2, file, LibC.pointer(iov), 1, offset, 0, RWF_NOWAIT);
                }
            });
        } catch (NativeException e) {
            return false; // closed, or no native access
        } finally {
            Reference.reachabilityFence(dst); // the kernel wrote into its memory, known to it by address only
        }
        if (result == -NativeException.EOPNOTSUPP || result == -NativeException.ENOSYS || result == -NativeException.EINVAL) {
            noWaitReads = false;
            return false;
        }
        if (result != length) {
            return false; // EAGAIN, another error, or a short read: part of it is not cached
        }
        dst.position(dst.limit());
        return true;
    }

    /**
     * Whether the file lives in memory only, on tmpfs or ramfs (fstatfs(2) f_type): its pages are
     * its storage, and nothing of it is ever written back to a disk. False where that cannot be
     * told (no native access, a closed file).
     */
    public boolean inMemoryOnly() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment statfs = arena.allocate(STATFS);
            long result = syscall("fstatfs",
                    (state, file) -> LibC.call(state, Syscall.FSTATFS, file, LibC.pointer(statfs), 0));
            long type = statfs.get(ValueLayout.JAVA_LONG, 0);
            return result == 0 && (type == TMPFS_MAGIC || type == RAMFS_MAGIC);
        } catch (NativeException e) {
            return false;
        }
    }

    /**
     * ioctl(2) with a pointer argument {@code arg} (see {@link DeviceIoctls}); returns its result.
     * {@code name} names the request in messages.
     */
    long ioctl(String name, long request, MemorySegment arg) throws NativeException {
        String call = "ioctl(" + name + ")";
        long result = syscall(call, (state, file) -> LibC.call(state, Syscall.IOCTL, file, request, LibC.pointer(arg)));
        if (result < 0) {
            int errno = (int) -result;
            // ioctl(2): ENOTTY "the request does not apply to the kind of object fd refers to".
            throw new NativeException(call, path, errno, NativeException.describe(errno),
                    errno == NativeException.ENOTTY || errno == NativeException.EOPNOTSUPP || errno == NativeException.ENOSYS);
        }
        return result;
    }

    /** Closes the descriptor once every call in progress has returned. */
    @Override
    public void close() throws NativeException {
        Lock exclusive = lock.writeLock();
        exclusive.lock();
        try (Arena arena = Arena.ofConfined()) {
            int open = fd;
            fd = CLOSED;
            if (open >= 0) {
                MemorySegment state = LibC.callState(arena);
                // close(2): the descriptor is released even on failure, so never retry.
                if (LibC.call(state, Syscall.CLOSE, open) != 0) {
                    throw new NativeException("close", path, LibC.errno(state));
                }
            }
        } finally {
            exclusive.unlock();
        }
    }

    @Override
    public String toString() {
        return "NativeFile(" + path + ")";
    }

    private void fallocate(String mode, int flags, long offset, long length) throws NativeException {
        String call = "fallocate(" + mode + ", " + offset + "+" + length + ")";
        succeed(call, (state, file) -> LibC.call(state, Syscall.FALLOCATE, file, flags, offset, length));
    }

    private long lseek(String whenceName, int whence, long offset) throws NativeException {
        String call = "lseek(" + offset + ", " + whenceName + ")";
        long result = syscall(call, (state, file) -> LibC.call(state, Syscall.LSEEK, file, offset, whence));
        if (result >= 0) {
            return result;
        }
        int errno = (int) -result;
        if (errno == NativeException.ENXIO) {
            return -1;
        }
        // lseek(2): EINVAL "whence is not valid", from file systems that predate SEEK_DATA.
        throw errno == NativeException.EINVAL
                ? new NativeException(call, path, errno, "SEEK_DATA/SEEK_HOLE not supported", true)
                : new NativeException(call, path, errno);
    }

    /** Makes a call whose only answer is success, or throws its errno as a {@link NativeException}. */
    private void succeed(String call, Downcall downcall) throws NativeException {
        long result = syscall(call, downcall);
        if (result < 0) {
            throw new NativeException(call, path, (int) -result);
        }
    }

    /**
     * Runs {@code downcall} on the open descriptor under the read lock, retrying on EINTR. Returns
     * its non-negative result, or the errno negated (as the kernel does).
     */
    private long syscall(String call, Downcall downcall) throws NativeException {
        Lock shared = lock.readLock();
        shared.lock();
        try (Arena arena = Arena.ofConfined()) {
            int file = descriptor(call);
            MemorySegment state = LibC.callState(arena);
            long result;
            do {
                result = downcall.invoke(state, file);
            } while (result < 0 && LibC.errno(state) == NativeException.EINTR);
            return result < 0 ? -LibC.errno(state) : result;
        } finally {
            shared.unlock();
        }
    }

    /** One system call on a descriptor (through {@link LibC#call}), reporting errno through the capture segment {@code state}. */
    @FunctionalInterface
    private interface Downcall {
        long invoke(MemorySegment state, int fd);
    }

    /** The open descriptor; the caller holds the read lock. */
    private int descriptor(String call) throws NativeException {
        if (fd == CLOSED) {
            throw new NativeException(call, path, NativeException.EBADF, "file is closed", false);
        }
        if (fd == NO_FD) {
            String why = LibC.unavailable() != null ? LibC.unavailable() : "not on the default file system";
            throw new NativeException(call, path, NativeException.ENOSYS, why, true);
        }
        return fd;
    }
}
