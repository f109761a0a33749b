package dev.sprout.format.qcow2;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Zeroing and trimming: whole clusters change their mapping, which frees their host space (the
 * zero flag over a backing file, else unallocated); parts of clusters are written with zeroes
 * unless they already read as zeroes.
 */
final class ClusterZeroing {

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

    ClusterZeroing(Qcow2Header header, ClusterMap map, ClusterLocks locks, ClusterWrites writes, boolean backed) {
        this.header = header;
        this.map = map;
        this.locks = locks;
        this.writes = writes;
        this.backed = backed;
    }

    void zero(long offset, long length) throws IOException {
        long end = offset + length;
        long at = offset;
        while (at < end) {
            long cluster = at >>> header.clusterBits();
            long clusterStart = cluster << header.clusterBits();
            long clusterEnd = Math.min(clusterStart + header.clusterSize(), header.size());
            long n = Math.min(end, clusterEnd) - at;
            if (at == clusterStart && at + n == clusterEnd) {
                locks.exclusive(cluster, () -> unmap(cluster));
            } else {
                zeroPart(cluster, at, (int) n);
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

    private void zeroPart(long cluster, long at, int n) throws IOException {
        long entry = locks.sharedGet(cluster, () -> map.entry(cluster));
        ClusterEntry.Kind kind = ClusterEntry.kind(entry, header.version());
        if (kind == ClusterEntry.Kind.ZERO || (kind == ClusterEntry.Kind.UNALLOCATED && !backed)) {
            return;
        }
        writes.writePart(cluster, (int) (at - (cluster << header.clusterBits())), ByteBuffer.allocate(n));
    }
}
