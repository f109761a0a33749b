package dev.sprout.format.qcow2;

import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The guest-to-host mapping that reads, writes and zeroing share: L1/L2 tables and refcounts
 * behind one metadata lock, host clusters claimed within max-size, and flushes that write the
 * changed metadata in crash-safe order ({@link MetadataFlush}). The lock is held only for
 * in-memory work, table cache misses and reserving new metadata clusters, never for data I/O.
 *
 * <p>On a full host disk: every new L2 table, refcount block and refcount table cluster gets its
 * host space (fallocate) when it is placed, within the write that needs it, so that write fails
 * with ENOSPC and a flush never needs room the disk lacks; a data cluster whose write failed is
 * given back at once ({@link #abandon}).
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
    /** Metadata clusters placed whose host space could not be reserved yet, oldest first; guarded by {@link #meta}. */
    private final ArrayDeque<Long> unbacked = new ArrayDeque<>();

    ClusterMap(ImageFile file, Qcow2Header header, Tables tables, Refcounts refcounts) {
        this.file = file;
        this.header = header;
        this.tables = tables;
        this.refcounts = refcounts;
    }

    /**
     * A host cluster claimed for a guest cluster, whether it was newly allocated (not a zero
     * cluster's own), and whether an L2 table was counted against max-size for it.
     */
    record Claim(long host, boolean fresh, boolean l2Reserved) {
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

    /** The L2 entries of guest clusters {@code first} to {@code first + count - 1}, under one lock. */
    long[] entries(long first, int count) throws IOException {
        long[] entries = new long[count];
        meta.lock();
        try {
            for (int i = 0; i < count; i++) {
                entries[i] = tables.entry(first + i);
            }
            return entries;
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
            long l2 = 0;
            long host = reuse;
            try {
                l2 = newL2(cluster); // first, so that it never splits a run of data clusters
                if (reuse == 0) {
                    host = refcounts.allocate();
                }
                ensureL2(cluster, l2, host);
            } catch (IOException | RuntimeException e) {
                unclaim(l2);
                if (reuse == 0) {
                    unclaim(host);
                }
                release(reserved);
                throw e;
            }
            return new Claim(host, reuse == 0, reserved);
        } finally {
            meta.unlock();
        }
    }

    /**
     * {@link #claim Claims} a host cluster for each of {@code clusters} in one go, so that the fresh
     * ones lie side by side in the file where free space allows and one write can fill them;
     * {@code reuse[i]} as for {@link #claim}. Fails, having given back what it claimed, as soon as
     * one claim fails.
     */
    Claim[] claim(long[] clusters, long[] reuse) throws IOException {
        Claim[] claims = new Claim[clusters.length];
        meta.lock();
        try {
            for (int i = 0; i < clusters.length; i++) {
                claims[i] = claim(clusters[i], reuse[i]);
            }
            return claims;
        } catch (IOException | RuntimeException e) {
            for (Claim claim : claims) {
                if (claim != null) {
                    if (claim.fresh()) {
                        unclaim(claim.host()); // nothing written to it yet
                    }
                    release(claim);
                }
            }
            throw e;
        } finally {
            meta.unlock();
        }
    }

    void release(Claim claim) {
        release(claim.l2Reserved());
    }

    /**
     * Gives back a fresh claim whose data write failed (a full disk): its host space is punched,
     * since a partial write may have allocated some, and the cluster is free again at once, as
     * nothing maps it. Call before {@link #release}.
     */
    void abandon(Claim claim) {
        if (!claim.fresh()) {
            return;
        }
        try {
            file.punch(claim.host(), header.clusterSize());
        } catch (DeviceException e) {
            // the cluster keeps its blocks but is free all the same
        }
        meta.lock();
        try {
            refcounts.unclaim(claim.host());
        } catch (IOException e) {
            // unreachable: the cluster's refcount block is loaded since it was allocated
            throw new UncheckedIOException(e);
        } finally {
            meta.unlock();
        }
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

    /** {@link #set Maps} each of {@code clusters} to its entry, under one lock. */
    void set(long[] clusters, long[] entries, long[] old) throws IOException {
        meta.lock();
        try {
            for (int i = 0; i < clusters.length; i++) {
                set(clusters[i], entries[i], old[i]);
            }
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
                if (entry != 0) {
                    long l2 = newL2(cluster);
                    try {
                        ensureL2(cluster, l2, 0);
                    } catch (IOException | RuntimeException e) {
                        unclaim(l2);
                        throw e;
                    }
                }
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

    /** A host cluster for guest cluster {@code cluster}'s L2 table if it has none, else 0. Called under {@link #meta}. */
    private long newL2(long cluster) throws IOException {
        return tables.hasL2(cluster) ? 0 : refcounts.allocate();
    }

    /**
     * Gives guest cluster {@code cluster} the L2 table {@code l2} just allocated for it (0: it has
     * one), after backing it and every other metadata cluster placed since the last call with host
     * space; fails with ENOSPC before the table is added, the caller taking its allocations back.
     * {@code data} is the data cluster claimed with it, which its write will fill. Called under
     * {@link #meta}.
     */
    private void ensureL2(long cluster, long l2, long data) throws IOException {
        for (long placed : refcounts.takePlaced()) {
            if (placed << header.clusterBits() != data) {
                unbacked.add(placed);
            }
        }
        while (!unbacked.isEmpty()) {
            file.reserve(unbacked.peekFirst() << header.clusterBits(), header.clusterSize());
            unbacked.removeFirst();
        }
        if (l2 != 0) {
            tables.addL2(cluster, l2);
        }
    }

    /** Takes back a cluster allocated by a claim that failed, if any ({@code offset} 0: none). Called under {@link #meta}. */
    private void unclaim(long offset) throws IOException {
        if (offset != 0) {
            unbacked.remove(offset >>> header.clusterBits());
            refcounts.unclaim(offset);
        }
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
