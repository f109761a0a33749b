package dev.sprout.layer;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.layer.PendingChanges.Change;
import dev.sprout.layer.PendingChanges.Kind;
import dev.sprout.layer.PendingChanges.Piece;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The crash layer's volatile cache over the device below, thread-safe: changes wait in it until
 * a write-back carries them down, and a power cut forgets them. Every call names the power epoch
 * (the count of cuts) its request was admitted in, and fails with EIO if a cut came since, so no
 * request straddling a cut can be acknowledged.
 */
final class WriteBackCache {

    private final BlockDevice below;
    /** Past this many bytes of cached data, a write waits for a write-back. */
    private final long maxPending;
    /** Guards {@link #changes}, {@link #generation} and {@link #cuts}. */
    private final Object lock = new Object();
    private final PendingChanges changes = new PendingChanges();
    /** The generation new changes join; a write-back takes every change up to it and opens the next. */
    private long generation;
    /** Power cuts so far. */
    private long cuts;
    /** One write-back at a time, so older bytes never land below over newer ones. */
    private final ReentrantLock writeBack = new ReentrantLock();

    WriteBackCache(BlockDevice below, long maxPending) {
        this.below = below;
        this.maxPending = maxPending;
    }

    long epoch() {
        synchronized (lock) {
            return cuts;
        }
    }

    /** Forgets every change not yet written back and starts a new epoch; returns the bytes of data lost. */
    long cut() {
        synchronized (lock) {
            cuts++;
            return changes.clear();
        }
    }

    /** Caches a change; with {@code fua}, or when the cache is full, writes everything back before returning. */
    void put(long epoch, long offset, long length, Kind kind, ByteBuffer data, boolean fua) throws IOException {
        long cached;
        synchronized (lock) {
            checkEpoch(epoch, "change");
            changes.put(new Change(offset, length, kind, data, generation));
            cached = changes.dataBytes();
        }
        if (fua || cached > maxPending) {
            writeBack(epoch, !fua);
        }
    }

    /** The range in pieces, cached or not; about {@code limit} at most. */
    List<Piece> pieces(long epoch, long offset, long length, int limit) throws DeviceException {
        synchronized (lock) {
            checkEpoch(epoch, "read");
            return changes.pieces(offset, length, limit);
        }
    }

    /**
     * Writes every change made so far below and flushes the device below; with
     * {@code onlyIfFull}, only if the cache is still over its limit when this write-back's turn comes.
     */
    void writeBack(long epoch, boolean onlyIfFull) throws IOException {
        writeBack.lock();
        try {
            List<Change> batch;
            long upTo;
            synchronized (lock) {
                checkEpoch(epoch, "flush");
                if (onlyIfFull && changes.dataBytes() <= maxPending) {
                    return;
                }
                batch = changes.all();
                upTo = generation++;
            }
            for (Change change : batch) {
                synchronized (lock) {
                    checkEpoch(epoch, "flush");
                }
                change.writeTo(below);
            }
            below.flush();
            synchronized (lock) {
                checkEpoch(epoch, "flush");
                changes.removeUpTo(upTo);
            }
        } finally {
            writeBack.unlock();
        }
    }

    private void checkEpoch(long epoch, String op) throws DeviceException {
        if (cuts != epoch) {
            throw new DeviceException(Errno.EIO, "power cut (crash layer) during " + op + " on " + below);
        }
    }
}
