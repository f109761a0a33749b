package dev.sprout.tool;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.block.ZeroFlags;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Copies one device onto another of the same size, data only: the source's extents say where its
 * holes and zeroes are, those ranges are skipped (on a fresh destination) or zeroed; data is read
 * in chunks by up to {@code requests} virtual threads, and a chunk found to be all zeroes is
 * treated like a hole. Every request is aligned to both ends' minimum block size. With
 * {@code flush} it ends with a flush of the destination.
 */
public final class Copy {

    /** A unit of sequential I/O for the other tools (compare, stream copies, sparsify). */
    static final int CHUNK = 1 << 20;
    /**
     * Bytes read per request of a copy, as nbdcopy's requests. Measured on 2 cores, a 4 GiB image
     * (half data) into a new file: 1 MiB requests spent 3-4x the kernel time of 256 KiB ones in
     * the page-cache copy of pwrite(2), the whole copy taking about twice as long, from a file or
     * over NBD; a request still reaches an NBD server split at its maximum block size.
     */
    static final int REQUEST_SIZE = 256 * 1024;
    /** Zero runs inside data are found in blocks of this size (a multiple of any alignment). */
    private static final int ZERO_STEP = 64 * 1024;

    /**
     * @param requests         chunks in flight at most
     * @param freshDestination the destination is new and reads as zeroes: holes need no writing
     * @param flush            flush the destination at the end (for a file: fdatasync(2), which
     *                         waits for every byte to reach the disk; qemu-img convert and nbdcopy
     *                         without --flush do not)
     */
    public record Options(int requests, boolean freshDestination, boolean flush) {
        public Options {
            if (requests < 1) {
                throw new IllegalArgumentException("--requests must be at least 1");
            }
        }

        /** Without a final flush. */
        public Options(int requests, boolean freshDestination) {
            this(requests, freshDestination, false);
        }
    }

    /** What was copied: bytes written as data, bytes left as holes or zeroed, time taken. */
    public record Summary(long size, long dataBytes, long zeroBytes, double seconds) {
        public String line() {
            return String.format(java.util.Locale.ROOT, "copied %s (%d bytes): %s data, %s holes or zeroes, in %.2f s (%s/s)",
                    Progress.human(size), size, Progress.human(dataBytes), Progress.human(zeroBytes), seconds,
                    Progress.human((long) (size / Math.max(seconds, 1e-3))));
        }
    }

    private final BlockDevice source;
    private final BlockDevice destination;
    private final Options options;
    private final Progress progress;
    private final AtomicLong dataBytes = new AtomicLong();
    private final AtomicReference<IOException> failure = new AtomicReference<>();
    /** Direct chunk buffers for reuse: at most one per request in flight is ever made. */
    private final ConcurrentLinkedQueue<ByteBuffer> buffers = new ConcurrentLinkedQueue<>();

    private Copy(BlockDevice source, BlockDevice destination, Options options, Progress progress) {
        this.source = source;
        this.destination = destination;
        this.options = options;
        this.progress = progress;
    }

    /** Copies {@code source} onto {@code destination}, which must be at least as large. */
    public static Summary run(BlockDevice source, BlockDevice destination, Options options, Progress progress)
            throws IOException {
        if (destination.size() < source.size()) {
            throw new IllegalArgumentException("destination " + destination + " (" + destination.size()
                    + " bytes) is smaller than source " + source + " (" + source.size() + " bytes)");
        }
        return new Copy(source, destination, options, progress).run();
    }

    private Summary run() throws IOException {
        Semaphore slots = new Semaphore(options.requests());
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            long size = source.size();
            Grid grid = new Grid(alignment(), size);
            long done = 0; // everything before it is copied, zeroed or on its way
            for (long at = 0; at < size && failure.get() == null; ) {
                for (Extent extent : source.extents(at, size - at)) {
                    // Zero runs shrink to whole blocks, data grows to them: a block holding both is data.
                    long start = Math.max(done, grid.down(extent.offset()));
                    if (extent.zero()) {
                        long end = grid.down(extent.end());
                        if (end > start) {
                            zero(start, end - start);
                            done = end;
                        }
                    } else {
                        long end = grid.up(extent.end());
                        int length;
                        // Steps never pass the end, so offsets near 2^63 cannot overflow.
                        for (long off = start; off < end && failure.get() == null; off += length) {
                            long offset = off;
                            length = (int) Math.min(REQUEST_SIZE, end - off);
                            int chunk = length;
                            acquire(slots);
                            threads.submit(() -> {
                                try {
                                    copyChunk(offset, chunk);
                                } catch (IOException e) {
                                    failure.compareAndSet(null, e);
                                } finally {
                                    slots.release();
                                }
                            });
                        }
                        done = Math.max(done, end);
                    }
                    at = extent.end();
                }
            }
        }
        if (failure.get() != null) {
            throw failure.get();
        }
        if (options.flush()) {
            destination.flush();
        }
        long size = source.size();
        return new Summary(size, dataBytes.get(), size - dataBytes.get(), progress.seconds());
    }

    private void copyChunk(long offset, int length) throws IOException {
        ByteBuffer buffer = buffers.poll();
        if (buffer == null) {
            buffer = ByteBuffer.allocateDirect(REQUEST_SIZE);
        }
        try {
            copyChunk(offset, length, buffer.clear().limit(length));
        } finally {
            buffers.offer(buffer);
        }
    }

    private void copyChunk(long offset, int length, ByteBuffer buffer) throws IOException {
        source.read(offset, buffer.duplicate());
        // Zero detection at 64 KiB granularity, so a chunk with a little data still punches the rest.
        int step = ZERO_STEP;
        int at = 0;
        boolean zero = ZeroDetector.isZero(buffer, 0, Math.min(length, step));
        while (at < length) {
            int runEnd = Math.min(length, at + step);
            boolean next = zero;
            while (runEnd < length) {
                next = ZeroDetector.isZero(buffer, runEnd, Math.min(length, runEnd + step));
                if (next != zero) {
                    break;
                }
                runEnd = Math.min(length, runEnd + step);
            }
            if (zero) {
                zero(offset + at, runEnd - at);
            } else {
                destination.write(offset + at, buffer.slice(at, runEnd - at), false);
                dataBytes.addAndGet(runEnd - at);
                progress.advance(runEnd - at);
            }
            at = runEnd;
            zero = next;
        }
    }

    private void zero(long offset, long length) throws IOException {
        if (!options.freshDestination()) {
            destination.zero(offset, length, ZeroFlags.PUNCH);
        }
        progress.advance(length);
    }

    /**
     * The block size every request must be a multiple of: the larger of the two ends' minimum
     * block sizes (proto.md: "Block size constraints"; a power of two, at most 64 KiB).
     */
    private long alignment() {
        long align = Math.max(source.capabilities().blockSizes().minimum(),
                destination.capabilities().blockSizes().minimum());
        if (Long.bitCount(align) != 1 || align > ZERO_STEP) {
            throw new IllegalArgumentException("cannot copy in blocks of " + align + " bytes (" + source + " to "
                    + destination + "): a power of two up to 64 KiB is needed");
        }
        return align;
    }

    /** Rounding to whole blocks of {@code align} bytes; the device's end counts as a boundary. */
    private record Grid(long align, long size) {
        long down(long offset) {
            return offset >= size ? size : offset & -align;
        }

        long up(long offset) {
            long down = down(offset);
            return down == offset ? offset : size - down <= align ? size : down + align;
        }
    }

    private static void acquire(Semaphore slots) throws InterruptedIOException {
        try {
            slots.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("copy interrupted");
        }
    }
}
