package dev.sprout.format.qcow2;

import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import java.io.IOException;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The guest-to-host mapping that reads, writes and zeroing share: L1/L2 tables and refcounts
 * behind one metadata lock, host clusters claimed within max-size, and flushes that write the
 * changed metadata in crash-safe order ({@link MetadataFlush}). The lock is held only for
 * in-memory work and table cache misses, never for data I/O.
 */
final class ClusterMap {

    /** The host file. */
    private final ImageFile file;
    /** The header as opened. */
    private final Qcow2Header header;
    /** L1 and the L2 cache; guarded by {@link #meta}. */
    private final Tables tables;
    /** Refcounts and allocation, null when read-only; guarded by {@link #meta}. */
    private final Refcounts refcounts;
    /** Guards tables, refcounts and {@link #reservedL2}. */
    private final ReentrantLock meta = new ReentrantLock();
    /** Serializes flushes, so their write orders never interleave. */
    private final ReentrantLock flushLock = new ReentrantLock();
    /** The cap on the host file's size in bytes (max-size=), 0 for none. */
    private volatile long maxSize;
    /** L2 tables counted against max-size by writes that have not mapped their cluster yet; guarded by {@link #meta}. */
    private int reservedL2;

    ClusterMap(ImageFile file, Qcow2Header header, Tables tables, Refcounts refcounts) {
        this.file = file;
        this.header = header;
        this.tables = tables;
        this.refcounts = refcounts;
    }

    /** A host cluster claimed for a guest cluster, and whether an L2 table was counted against max-size for it. */
    record Claim(long host, boolean l2Reserved) {
    }

    /** Whether the image was opened for writing. */
    boolean writable() {
        return refcounts != null;
    }

    void capHostSize(long bytes) {
        maxSize = bytes;
    }

    /** The L2 entry of guest cluster {@code cluster}, 0 where no L2 table covers it. */
    long entry(long cluster) throws IOException {
        meta.lock();
        try {
            return tables.entry(cluster);
        } finally {
            meta.unlock();
        }
    }

    /** Guest bytes mapped to data or compressed clusters of this image. */
    long mappedBytes() throws IOException {
        meta.lock();
        try {
            return tables.dataClusters(header.version()) << header.clusterBits();
        } finally {
            meta.unlock();
        }
    }

    /**
     * Claims a host cluster for guest cluster {@code cluster}: {@code reuse} when it is not 0 (the
     * host offset of a zero cluster that keeps its allocation), else a free one. Fails with ENOSPC
     * before anything changes when max-size would be passed; {@link #release} the claim once mapped.
     */
    Claim claim(long cluster, long reuse) throws IOException {
        meta.lock();
        try {
            boolean reserved = checkQuota(cluster, reuse != 0 ? 0 : 1);
            return new Claim(reuse != 0 ? reuse : refcounts.allocate(), reserved);
        } finally {
            meta.unlock();
        }
    }

    void release(Claim claim) {
        release(claim.l2Reserved());
    }

    /** Maps {@code cluster} to {@code entry}, dropping the host space {@code old} held. */
    void set(long cluster, long entry, long old) throws IOException {
        meta.lock();
        try {
            tables.set(cluster, entry, refcounts);
            ClusterEntry.release(old, header, refcounts);
        } finally {
            meta.unlock();
        }
    }

    /** Maps {@code cluster} to {@code entry}, which needs no data cluster, within max-size for its L2 table. */
    void remap(long cluster, long entry, long old) throws IOException {
        meta.lock();
        try {
            boolean reserved = checkQuota(cluster, 0);
            try {
                set(cluster, entry, old);
            } finally {
                release(reserved);
            }
        } finally {
            meta.unlock();
        }
    }

    /** Makes every mapping change so far durable; nothing to do when read-only. */
    void flush() throws IOException {
        if (refcounts == null) {
            return;
        }
        flushLock.lock();
        try {
            MetadataFlush.run(file, tables, refcounts, meta, header.clusterBits());
        } finally {
            flushLock.unlock();
        }
    }

    /**
     * Fails with ENOSPC when {@code dataClusters} more, an L2 table if missing, and the L2 tables
     * other writes still have to allocate would grow the file past max-size. Called under
     * {@link #meta}; returns whether it reserved an L2 table, to {@link #release} once mapped.
     */
    private boolean checkQuota(long cluster, int dataClusters) throws IOException {
        long cap = maxSize;
        if (cap == 0) {
            return false;
        }
        boolean l2 = !tables.hasL2(cluster);
        int clusters = dataClusters + (l2 ? 1 : 0);
        if (clusters > 0 && refcounts.endAfter(clusters + reservedL2) << header.clusterBits() > cap) {
            throw new DeviceException(Errno.ENOSPC, file.name() + ": max-size " + cap
                    + " bytes reached; discard (trim) and flush to free space");
        }
        if (l2) {
            reservedL2++;
        }
        return l2;
    }

    private void release(boolean reserved) {
        if (reserved) {
            meta.lock();
            try {
                reservedL2--;
            } finally {
                meta.unlock();
            }
        }
    }
}
