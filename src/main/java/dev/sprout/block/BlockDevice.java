package dev.sprout.block;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A virtual disk: a size, capabilities, and operations on byte ranges. Backends hold data;
 * layers wrap another device and change one thing.
 *
 * <p>Contract for every implementation:
 * <ul>
 *   <li>All methods are thread-safe; concurrent requests on overlapping ranges may be applied in
 *       any order, requests on disjoint ranges never disturb each other.</li>
 *   <li>Ranges are checked by the caller ({@link Ranges#check}); implementations may assume
 *       {@code 0 <= offset}, {@code length > 0} and {@code offset + length <= size()}.</li>
 *   <li>Failures are {@link BlockException}s carrying the errno for the client; any other
 *       {@link IOException} is reported as {@link Errno#EIO}.</li>
 *   <li>Once {@link #flush()} returns, or a call with {@code fua} returns, every write completed
 *       before it (on any connection) survives a crash of the process.</li>
 * </ul>
 */
public interface BlockDevice extends Closeable {

    /** The size in bytes, at most {@link Long#MAX_VALUE}. */
    long size();

    Capabilities capabilities();

    /** Fills {@code dst} from its position to its limit with the bytes at {@code offset}, leaving its position at its limit. */
    void read(long offset, ByteBuffer dst) throws IOException;

    /** Writes the remaining bytes of {@code src} at {@code offset}, consuming them. */
    void write(long offset, ByteBuffer src, boolean fua) throws IOException;

    /** Makes every completed write durable. */
    void flush() throws IOException;

    /** Tells the device the range is no longer needed; afterwards it reads as zeroes or as before. */
    void trim(long offset, long length, boolean fua) throws IOException;

    /** Makes the range read as zeroes. */
    void zero(long offset, long length, ZeroFlags flags) throws IOException;

    /** Hints that the range will be read soon. */
    void cache(long offset, long length) throws IOException;

    /**
     * The allocation status from {@code offset}: consecutive extents starting exactly at
     * {@code offset}, at least one, none extending past {@code offset + length}. They may cover
     * less than {@code length}; callers ask again from where the list ended.
     */
    List<Extent> extents(long offset, long length) throws IOException;

    /**
     * Whether every operation finishes promptly on the calling thread: no waiting for disk or
     * network I/O, for timers, or for locks held across such waits. The server then runs a
     * connection's requests on the thread that reads them, which saves a thread hand-off per
     * request. Devices that may wait answer false (the default), and their requests run
     * concurrently.
     */
    default boolean nonBlocking() {
        return false;
    }

    /**
     * Whether a request spends its time waiting for someone else (a server across a network, a
     * timer) rather than working on the calling thread, so that a caller gains by keeping many in
     * flight. Devices whose requests are the caller's own work answer false, the default: memory,
     * and host files and block devices, whose buffered reads and writes are copies through the
     * page cache (read ahead by the kernel when sequential). More of those in flight than there are
     * cores only contend for the cores and, for writes to one file, for its inode lock.
     */
    default boolean latencyBound() {
        return false;
    }

    /**
     * Reads like {@link #read} if that needs no waiting, and returns true; otherwise returns
     * false having read nothing. The server answers such reads on the thread that received them.
     * By default a {@linkplain #nonBlocking non-blocking} device always reads, others never.
     */
    default boolean readIfReady(long offset, ByteBuffer dst) throws IOException {
        if (!nonBlocking()) {
            return false;
        }
        read(offset, dst);
        return true;
    }

    /**
     * Writes like {@link #write} if that needs no waiting, and returns true; otherwise returns
     * false having consumed nothing. By default a {@linkplain #nonBlocking non-blocking} device
     * always writes, others never.
     */
    default boolean writeIfReady(long offset, ByteBuffer src, boolean fua) throws IOException {
        if (!nonBlocking()) {
            return false;
        }
        write(offset, src, fua);
        return true;
    }

    /**
     * Buffers of the device's own to receive the payload of a WRITE of {@code length} bytes at
     * {@code offset}, which {@link WriteLease#commit} then makes the device's data without copying
     * it again; or null, the default, when the device has none for this write: the caller then
     * reads the payload into a buffer of its own and calls {@link #write}. The server commits on
     * the thread that reads requests, so a device lends only where committing never waits. Layers
     * keep the default, since they must see every write's bytes. Unlike the other operations it
     * may be asked before the range is checked (the server asks first, since most devices lend
     * nothing): a device lends nothing for a range outside it, or lends and sees the lease released.
     */
    default WriteLease leaseWrite(long offset, int length) {
        return null;
    }

    /** Releases resources. Further calls fail. */
    @Override
    void close() throws IOException;
}
