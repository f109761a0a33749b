package dev.sprout.format.qcow2;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Zeroing and trimming: whole clusters change their mapping, which frees their host space (the
 * zero flag over a backing file, else unallocated); parts of clusters are written with zeroes
 * unless they already read as zeroes. With NO_HOLE, clusters stay allocated instead: a whole
 * cluster becomes a zero cluster that keeps its host cluster (qcow2.txt: "Standard Cluster
 * Descriptor", bit 0 with an offset), which the next write fills in place.
 */
final class ClusterZeroing {

    /** The host file. */
    private final ImageFile file;
    /** The header as opened. */
    private final Qcow2Header header;
    /** The mapping. */
    private final ClusterMap map;
    /** The image's per-guest-cluster locks. */
    private final ClusterLocks locks;
    /** Writes zeroes into parts of clusters. */
    private final ClusterWrites writes;
    /** Whether the image has a backing file, whose data a zeroed cluster must hide. */
    private final boolean backed;

    ClusterZeroing(ImageFile file, Qcow2Header header, ClusterMap map, ClusterLocks locks, ClusterWrites writes,
                   boolean backed) {
        this.file = file;
        this.header = header;
        this.map = map;
        this.locks = locks;
        this.writes = writes;
        this.backed = backed;
    }

    /** Makes the range read as zeroes; {@code keepAllocated} (NBD NO_HOLE) frees no host space and leaves no hole. */
    void zero(long offset, long length, boolean keepAllocated) throws IOException {
        long end = offset + length;
        long at = offset;
        while (at < end) {
            long cluster = at >>> header.clusterBits();
            long clusterStart = cluster << header.clusterBits();
            long clusterEnd = Math.min(clusterStart + header.clusterSize(), header.size());
            long n = Math.min(end, clusterEnd) - at;
            if (at == clusterStart && at + n == clusterEnd) {
                locks.exclusive(cluster, () -> {
                    if (keepAllocated) {
                        zeroAllocated(cluster);
                    } else {
                        unmap(cluster);
                    }
                });
            } else {
                zeroPart(cluster, at, (int) n, keepAllocated);
            }
            at += n;
        }
    }

    /** Makes a whole cluster read as zeroes: the zero flag over a backing file, else unallocated. */
    private void unmap(long cluster) throws IOException {
        long entry = map.entry(cluster);
        long wanted = backed ? Tables.ZERO : 0;
        if (entry != wanted) {
            map.remap(cluster, wanted, entry);
        }
    }

    /**
     * Makes a whole cluster a zero cluster with a host cluster of its own: its current one when it
     * has one alone, else a newly claimed one (the old mapping's space is dropped).
     */
    private void zeroAllocated(long cluster) throws IOException {
        long entry = map.entry(cluster);
        if (ClusterEntry.preallocatedZero(entry, header.version())) {
            return;
        }
        if (ClusterEntry.writableInPlace(entry, header.version())) {
            map.remap(cluster, entry | Tables.ZERO, 0);
            return;
        }
        ClusterMap.Claim claim = map.claim(cluster, 0);
        try {
            // Written, not just mapped: the host file must reach the cluster (qemu-img check calls a
            // reference past its end corrupt) and NO_HOLE asks for the space to be there.
            try {
                file.write(claim.host(), ByteBuffer.allocate((int) header.clusterSize()), "data");
            } catch (IOException | RuntimeException e) {
                map.abandon(claim);
                throw e;
            }
            map.set(cluster, claim.host() | Tables.COPIED | Tables.ZERO, entry);
        } finally {
            map.release(claim);
        }
    }

    private void zeroPart(long cluster, long at, int n, boolean keepAllocated) throws IOException {
        long entry = locks.sharedGet(cluster, () -> map.entry(cluster));
        ClusterEntry.Kind kind = ClusterEntry.kind(entry, header.version());
        boolean readsZeroes = kind == ClusterEntry.Kind.ZERO || (kind == ClusterEntry.Kind.UNALLOCATED && !backed);
        if (readsZeroes && (!keepAllocated || ClusterEntry.preallocatedZero(entry, header.version()))) {
            return;
        }
        writes.writePart(cluster, (int) (at - (cluster << header.clusterBits())), ByteBuffer.allocate(n));
    }
}
