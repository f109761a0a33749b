package dev.sprout.format.qcow2;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The write path: in place, under the clusters' shared locks, where the L2 entry says a cluster
 * is this image's alone (bit 63); otherwise, under its exclusive lock, the whole new cluster is
 * built (old data, backing file or zeroes), written to a host cluster of its own, then mapped.
 * A write covering whole clusters is done a run of clusters at a time, each run of host clusters
 * that lie side by side in one write: copying 2 GiB into a new image made 32,768 writes of one
 * 64 KiB cluster each, and qemu-img 1,069 writes of 2 MiB.
 */
final class ClusterWrites {

    /** The most bytes of whole clusters written under one set of locks (at least one cluster). */
    private static final int RUN_BYTES = 4 << 20;

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
        int bits = header.clusterBits();
        int maxRun = Math.min(ClusterLocks.MAX_CLUSTERS, Math.max(1, RUN_BYTES >>> bits));
        try {
            while (src.position() < limit) {
                long cluster = at >>> bits;
                int within = (int) (at & (header.clusterSize() - 1));
                int whole = within == 0 ? Math.min(maxRun, (limit - src.position()) >>> bits) : 0;
                int n = whole > 0 ? whole << bits : (int) Math.min(limit - src.position(), header.clusterSize() - within);
                src.limit(src.position() + n);
                if (whole > 0) {
                    writeWhole(cluster, whole, src);
                } else {
                    writePart(cluster, within, src);
                }
                at += n;
            }
        } finally {
            src.limit(limit);
        }
    }

    /**
     * Writes {@code count} whole clusters from {@code first} on: in place under their shared locks
     * when they are all this image's alone, else under their exclusive locks.
     */
    private void writeWhole(long first, int count, ByteBuffer src) throws IOException {
        boolean done = locks.sharedGet(first, count, () -> {
            long[] entries = map.entries(first, count);
            for (long entry : entries) {
                if (!ClusterEntry.writableInPlace(entry, header.version())) {
                    return false;
                }
            }
            writeRuns(hostOffsets(entries), src);
            return true;
        });
        if (!done) {
            locks.exclusive(first, count, () -> replaceWhole(first, count, src));
        }
    }

    /**
     * Writes whole clusters, the caller holding their exclusive locks: in place where they are
     * this image's alone, the others to host clusters claimed together, mapped once written.
     */
    private void replaceWhole(long first, int count, ByteBuffer src) throws IOException {
        long[] entries = map.entries(first, count);
        long[] hosts = hostOffsets(entries);
        int claimed = 0;
        long[] clusters = new long[count];
        long[] reuse = new long[count];
        for (int i = 0; i < count; i++) {
            if (!ClusterEntry.writableInPlace(entries[i], header.version())) {
                clusters[claimed] = first + i;
                reuse[claimed++] = ClusterEntry.preallocatedZero(entries[i], header.version()) ? hosts[i] : 0;
            }
        }
        long[] claiming = Arrays.copyOf(clusters, claimed);
        ClusterMap.Claim[] claims = map.claim(claiming, Arrays.copyOf(reuse, claimed));
        long[] mapped = new long[claimed];
        long[] dropped = new long[claimed];
        for (int c = 0; c < claimed; c++) {
            int i = (int) (claiming[c] - first);
            hosts[i] = claims[c].host();
            mapped[c] = claims[c].host() | Tables.COPIED;
            dropped[c] = claims[c].fresh() ? entries[i] : 0; // a reused zero cluster keeps its host space
        }
        try {
            try {
                writeRuns(hosts, src);
            } catch (IOException | RuntimeException e) {
                for (ClusterMap.Claim claim : claims) {
                    map.abandon(claim);
                }
                throw e;
            }
            map.set(claiming, mapped, dropped);
        } finally {
            for (ClusterMap.Claim claim : claims) {
                map.release(claim);
            }
        }
    }

    /** The host offsets entries map to (0 where none). */
    private static long[] hostOffsets(long[] entries) {
        long[] hosts = new long[entries.length];
        for (int i = 0; i < entries.length; i++) {
            hosts[i] = entries[i] & Tables.OFFSET_MASK;
        }
        return hosts;
    }

    /** Writes all of {@code src}, cluster {@code i} of it at {@code hosts[i]}: one write per run of adjacent host clusters. */
    private void writeRuns(long[] hosts, ByteBuffer src) throws IOException {
        int bits = header.clusterBits();
        int start = src.position();
        for (int i = 0; i < hosts.length; ) {
            int j = i + 1;
            while (j < hosts.length && hosts[j] == hosts[j - 1] + header.clusterSize()) {
                j++;
            }
            file.write(hosts[i], src.slice(start + (i << bits), (j - i) << bits), "data");
            i = j;
        }
        src.position(src.limit());
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
