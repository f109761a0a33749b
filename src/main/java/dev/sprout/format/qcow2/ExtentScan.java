package dev.sprout.format.qcow2;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Allocation status from the L2 entries: data for data and compressed clusters, zeroes for zero
 * clusters (a hole unless they keep a host cluster), and for unallocated ones what the backing
 * file reports (a hole reading zeroes without one, or past its end).
 */
final class ExtentScan {

    /** At most this many extents per answer; callers ask again from where it ended. */
    private static final int MAX_EXTENTS = 1024;
    /** At most this many clusters looked at per answer. */
    private static final long MAX_CLUSTERS = 1 << 20;

    /** Looks up the L2 entry of a guest cluster. */
    interface Entries {
        long entry(long cluster) throws IOException;
    }

    /** The image's header. */
    private final Qcow2Header header;
    /** The backing device, or null. */
    private final BlockDevice backing;
    /** The image's L2 entries. */
    private final Entries entries;
    /** The answer so far. */
    private final List<Extent> extents = new ArrayList<>();

    ExtentScan(Qcow2Header header, BlockDevice backing, Entries entries) {
        this.header = header;
        this.backing = backing;
        this.entries = entries;
    }

    List<Extent> scan(long offset, long length) throws IOException {
        long end = offset + length;
        long at = offset;
        long clusters = 0;
        while (at < end && extents.size() < MAX_EXTENTS && clusters++ < MAX_CLUSTERS) {
            long cluster = at >>> header.clusterBits();
            long next = Math.min(end, (cluster + 1) << header.clusterBits());
            long entry = entries.entry(cluster);
            switch (ClusterEntry.kind(entry, header.version())) {
                case DATA, COMPRESSED -> add(Extent.data(at, next - at));
                case ZERO -> add((entry & Tables.OFFSET_MASK) != 0 ? Extent.zeroes(at, next - at) : Extent.unallocated(at, next - at));
                case UNALLOCATED -> {
                    next = unallocatedRunEnd(cluster, next, end);
                    fromBacking(at, next);
                }
            }
            at = extents.getLast().end();
        }
        return extents;
    }

    /** Extends an unallocated run over the following unallocated clusters, so the backing file is asked once. */
    private long unallocatedRunEnd(long cluster, long next, long end) throws IOException {
        long c = cluster + 1;
        while (next < end && ClusterEntry.kind(entries.entry(c), header.version()) == ClusterEntry.Kind.UNALLOCATED
                && c - cluster < 4096) {
            next = Math.min(end, (++c) << header.clusterBits());
        }
        return next;
    }

    private void fromBacking(long start, long end) throws IOException {
        long backed = backing == null ? start : Math.min(end, Math.max(start, backing.size()));
        long at = start;
        while (at < backed && extents.size() < MAX_EXTENTS) {
            for (Extent e : backing.extents(at, backed - at)) {
                add(e);
            }
            at = extents.getLast().end();
        }
        if (at == backed && backed < end) {
            add(Extent.unallocated(backed, end - backed));
        }
    }

    private void add(Extent next) {
        if (!extents.isEmpty() && extents.getLast().joinsWith(next)) {
            Extent last = extents.removeLast();
            extents.add(last.withRange(last.offset(), last.length() + next.length()));
        } else {
            extents.add(next);
        }
    }
}
