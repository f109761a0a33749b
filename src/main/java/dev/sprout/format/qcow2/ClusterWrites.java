package dev.sprout.format.qcow2;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The write path: in place, under the cluster's shared lock, where the L2 entry says the cluster
 * is this image's alone (bit 63); otherwise, under its exclusive lock, the whole new cluster is
 * built (old data, backing file or zeroes), written to a host cluster of its own, then mapped.
 */
final class ClusterWrites {

    /** The host file. */
    private final ImageFile file;
    /** The header as opened. */
    private final Qcow2Header header;
    /** The mapping. */
    private final ClusterMap map;
    /** The image's per-guest-cluster locks. */
    private final ClusterLocks locks;
    /** Reads the old content of partly written clusters. */
    private final ClusterReads reads;

    ClusterWrites(ImageFile file, Qcow2Header header, ClusterMap map, ClusterLocks locks, ClusterReads reads) {
        this.file = file;
        this.header = header;
        this.map = map;
        this.locks = locks;
        this.reads = reads;
    }

    void write(long offset, ByteBuffer src) throws IOException {
        long at = offset;
        int limit = src.limit();
        try {
            while (src.position() < limit) {
                long cluster = at >>> header.clusterBits();
                int within = (int) (at & (header.clusterSize() - 1));
                int n = (int) Math.min(limit - src.position(), header.clusterSize() - within);
                src.limit(src.position() + n);
                writePart(cluster, within, src);
                at += n;
            }
        } finally {
            src.limit(limit);
        }
    }

    /** Writes in place where the cluster is this image's alone, else copies it on write. */
    void writePart(long cluster, int within, ByteBuffer src) throws IOException {
        boolean done = locks.sharedGet(cluster, () -> {
            long entry = map.entry(cluster);
            if (!ClusterEntry.writableInPlace(entry, header.version())) {
                return false;
            }
            file.write((entry & Tables.OFFSET_MASK) + within, src, "data");
            return true;
        });
        if (!done) {
            locks.exclusive(cluster, () -> copyOnWrite(cluster, within, src));
        }
    }

    /** Builds the whole new cluster, writes it to a cluster of its own, then maps it. */
    private void copyOnWrite(long cluster, int within, ByteBuffer src) throws IOException {
        long entry = map.entry(cluster);
        if (ClusterEntry.writableInPlace(entry, header.version())) {
            file.write((entry & Tables.OFFSET_MASK) + within, src, "data");
            return;
        }
        int clusterSize = (int) header.clusterSize();
        ByteBuffer whole;
        if (src.remaining() == clusterSize) {
            whole = src; // the whole cluster is written: nothing old to keep, no copy to build
        } else {
            whole = ByteBuffer.allocate(clusterSize);
            reads.readPart(cluster, 0, whole);
            whole.clear();
            whole.position(within);
            whole.put(src);
            whole.clear();
        }
        boolean reuse = ClusterEntry.preallocatedZero(entry, header.version());
        ClusterMap.Claim claim = map.claim(cluster, reuse ? entry & Tables.OFFSET_MASK : 0);
        try {
            try {
                file.write(claim.host(), whole, "data");
            } catch (IOException | RuntimeException e) {
                map.abandon(claim);
                throw e;
            }
            map.set(cluster, claim.host() | Tables.COPIED, reuse ? 0 : entry);
        } finally {
            map.release(claim);
        }
    }
}
