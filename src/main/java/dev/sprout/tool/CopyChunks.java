package dev.sprout.tool;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The pieces of a copy, handed out one at a time to whichever worker asks next, in offset order:
 * the source's extents are walked as the copy goes, data ranges are cut into chunks of at most
 * {@code chunkSize} bytes, and zero ranges are handed out whole. Every range is aligned to whole
 * blocks: zero ranges shrink to them, data grows to them, so a block holding both is data.
 * Chunks are cut at multiples of {@code chunkSize} (a power of two), so that only a data range's
 * ends can fall inside a destination's preferred block (a qcow2 cluster, say).
 */
final class CopyChunks {

    /** What {@link #next} hands out. */
    sealed interface Piece permits Chunk, Zeroes, ExtentsNeeded {
    }

    /** A range of data to copy. */
    record Chunk(long offset, int length) implements Piece {
    }

    /**
     * A range the source reports as zeroes, to skip or to zero on the destination. It is handed
     * out like a chunk, so that zeroing it (slow on some destinations) holds up no other worker.
     */
    record Zeroes(long offset, long length) implements Piece {
    }

    /** From {@link #nextWithoutWaiting}: the next piece needs the source's extents first. */
    record ExtentsNeeded() implements Piece {
    }

    static final ExtentsNeeded EXTENTS_NEEDED = new ExtentsNeeded();

    private final BlockDevice source;
    private final Grid grid;
    private final int chunkSize;
    private final long size;
    /** Guards the fields below; not held while the source is asked for extents. */
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when an extents query ends. */
    private final Condition fetched = lock.newCondition();
    /** Extents fetched and not yet cut, in order. */
    private final ArrayDeque<Extent> extents = new ArrayDeque<>();
    /** Where the next extents query starts. */
    private long asked;
    /** Whether a thread is asking the source for extents. */
    private boolean querying;
    /** Everything before it is handed out, zeroed or skipped. */
    private long done;
    /** The data range being cut into chunks: next chunk's offset, and the range's end. */
    private long dataAt;
    private long dataEnd;

    CopyChunks(BlockDevice source, long align, int chunkSize) {
        if (Integer.bitCount(chunkSize) != 1) {
            throw new IllegalArgumentException("chunk size " + chunkSize + " is not a power of two");
        }
        this.source = source;
        this.size = source.size();
        this.grid = new Grid(align, size);
        this.chunkSize = chunkSize;
    }

    /** The next chunk or zero range, or null once everything is handed out. */
    Piece next() throws IOException {
        return next(true);
    }

    /**
     * The next chunk or zero range, null once everything is handed out, or {@link
     * #EXTENTS_NEEDED} where {@link #next()} would wait for the source's extents (which an NBD
     * source's reader thread, say, must not).
     */
    Piece nextWithoutWaiting() throws IOException {
        return next(false);
    }

    private Piece next(boolean mayWait) throws IOException {
        lock.lock();
        try {
            while (dataAt >= dataEnd) {
                if (extents.isEmpty()) {
                    if (asked >= size) {
                        return null;
                    }
                    if (!mayWait) {
                        return EXTENTS_NEEDED;
                    }
                    fetchExtents();
                    continue;
                }
                Extent extent = extents.poll();
                long start = Math.max(done, grid.down(extent.offset()));
                if (extent.zero()) {
                    long end = grid.down(extent.end());
                    if (end > start) {
                        done = end;
                        return new Zeroes(start, end - start);
                    }
                } else {
                    dataAt = start;
                    dataEnd = grid.up(extent.end());
                    done = Math.max(done, dataEnd);
                }
            }
            // Steps never pass the end, so offsets near 2^63 cannot overflow.
            Chunk chunk = new Chunk(dataAt, (int) Math.min(chunkSize - (dataAt & (chunkSize - 1)), dataEnd - dataAt));
            dataAt += chunk.length();
            return chunk;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Asks the source for the extents from {@link #asked}, or waits for the thread asking already.
     * The lock is let go while the source answers: a thread that must not wait for the source
     * (see {@link #nextWithoutWaiting}) must not wait for the one asking it either.
     */
    private void fetchExtents() throws IOException {
        if (querying) {
            fetched.awaitUninterruptibly();
            return;
        }
        querying = true;
        long from = asked;
        List<Extent> found;
        lock.unlock();
        try {
            found = source.extents(from, size - from);
        } finally {
            lock.lock();
            querying = false;
            fetched.signalAll();
        }
        extents.addAll(found);
        asked = found.getLast().end();
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
}
