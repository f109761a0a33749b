package dev.sprout.format.qcow2;

import dev.sprout.block.BlockDevice;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * The read path: each guest cluster under its shared lock, from its host cluster, decompressed,
 * as zeroes, or from the backing file (zeroes past its end or without one).
 */
final class ClusterReads {

    /** The host file. */
    private final ImageFile file;
    /** The header as opened. */
    private final Qcow2Header header;
    /** The mapping. */
    private final ClusterMap map;
    /** The image's per-guest-cluster locks. */
    private final ClusterLocks locks;
    /** What unallocated clusters read from, null without a backing file. */
    private final BlockDevice backing;

    ClusterReads(ImageFile file, Qcow2Header header, ClusterMap map, ClusterLocks locks, BlockDevice backing) {
        this.file = file;
        this.header = header;
        this.map = map;
        this.locks = locks;
        this.backing = backing;
    }

    void read(long offset, ByteBuffer dst) throws IOException {
        long at = offset;
        int limit = dst.limit();
        try {
            while (dst.position() < limit) {
                long cluster = at >>> header.clusterBits();
                int within = (int) (at & (header.clusterSize() - 1));
                int n = (int) Math.min(limit - dst.position(), header.clusterSize() - within);
                dst.limit(dst.position() + n);
                locks.shared(cluster, () -> readPart(cluster, within, dst));
                at += n;
            }
        } finally {
            dst.limit(limit);
        }
    }

    /**
     * Like {@link #read} but only if no byte needs waiting for the disk: host data in the page
     * cache, zero clusters, and backing ranges the backing device can read at once. Returns false
     * otherwise, with {@code dst}'s position and limit as they were.
     */
    boolean readIfReady(long offset, ByteBuffer dst) throws IOException {
        long at = offset;
        int start = dst.position();
        int limit = dst.limit();
        try {
            while (dst.position() < limit) {
                long cluster = at >>> header.clusterBits();
                int within = (int) (at & (header.clusterSize() - 1));
                int n = (int) Math.min(limit - dst.position(), header.clusterSize() - within);
                dst.limit(dst.position() + n);
                if (!locks.sharedGet(cluster, () -> readPartIfReady(cluster, within, dst))) {
                    dst.position(start);
                    return false;
                }
                at += n;
            }
            return true;
        } finally {
            dst.limit(limit);
        }
    }

    /** {@link #readPart} if that needs no waiting; the caller holds the cluster's lock. */
    private boolean readPartIfReady(long cluster, int within, ByteBuffer dst) throws IOException {
        long entry = map.entry(cluster);
        long guest = (cluster << header.clusterBits()) + within;
        return switch (ClusterEntry.kind(entry, header.version())) {
            case DATA -> file.readIfCached((entry & Tables.OFFSET_MASK) + within, dst);
            case COMPRESSED -> false;
            case ZERO -> {
                fillZeroes(dst);
                yield true;
            }
            case UNALLOCATED -> readBackingIfReady(guest, dst);
        };
    }

    private boolean readBackingIfReady(long guest, ByteBuffer dst) throws IOException {
        if (backing != null && guest < backing.size()) {
            int limit = dst.limit();
            dst.limit((int) Math.min(limit, dst.position() + backing.size() - guest));
            boolean ready = backing.readIfReady(guest, dst);
            dst.limit(limit);
            if (!ready) {
                return false;
            }
        }
        fillZeroes(dst);
        return true;
    }

    /**
     * The L2 entry of {@code cluster}, looked up under the cluster's shared lock like every lookup
     * whose answer is acted on, so it never interleaves with a mapping change of that cluster.
     */
    long entry(long cluster) throws IOException {
        return locks.sharedGet(cluster, () -> map.entry(cluster));
    }

    /** Reads bytes of one guest cluster into {@code dst}; the caller holds its lock. */
    void readPart(long cluster, int within, ByteBuffer dst) throws IOException {
        long entry = map.entry(cluster);
        long guest = (cluster << header.clusterBits()) + within;
        switch (ClusterEntry.kind(entry, header.version())) {
            case DATA -> file.read((entry & Tables.OFFSET_MASK) + within, dst, "data");
            case COMPRESSED -> dst.put(CompressedCluster.read(file, entry, header.clusterBits(), header.compressionType()),
                    within, dst.remaining());
            case ZERO -> fillZeroes(dst);
            case UNALLOCATED -> readBacking(guest, dst);
        }
    }

    private void readBacking(long guest, ByteBuffer dst) throws IOException {
        if (backing != null && guest < backing.size()) {
            int limit = dst.limit();
            dst.limit((int) Math.min(limit, dst.position() + backing.size() - guest));
            backing.read(guest, dst);
            dst.limit(limit);
        }
        fillZeroes(dst);
    }

    private static void fillZeroes(ByteBuffer dst) {
        MemorySegment.ofBuffer(dst).fill((byte) 0); // the bytes from position to limit
        dst.position(dst.limit());
    }
}
