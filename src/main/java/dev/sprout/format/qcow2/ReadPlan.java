package dev.sprout.format.qcow2;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * A guest range cut into the fewest pieces that each read with one I/O: host data whose clusters
 * lie back to back in the host file, runs of zero clusters, runs of clusters the backing file
 * supplies, and compressed clusters one at a time. The entries must stay as they are until the
 * pieces are read, so the caller holds the clusters' locks.
 */
final class ReadPlan {

    /** Guest bytes {@code [guest, guest + length)} that read with one I/O. */
    sealed interface Piece {
        long guest();

        int length();
    }

    /** Bytes of the host file from {@code host} on. */
    record HostData(long guest, long host, int length) implements Piece {
    }

    /** Bytes from {@code within} on of one compressed cluster with L2 entry {@code entry}. */
    record Compressed(long guest, long entry, int within, int length) implements Piece {
    }

    /** Zero clusters. */
    record Zeroes(long guest, int length) implements Piece {
    }

    /** Unallocated clusters: the same guest bytes of the backing file, zeroes past it or without one. */
    record FromBacking(long guest, int length) implements Piece {
    }

    /** The L2 entry of a guest cluster. */
    @FunctionalInterface
    interface Entries {
        long entry(long cluster) throws IOException;
    }

    private ReadPlan() {
    }

    /** The pieces of {@code [offset, offset + length)}, in guest order, covering it exactly. */
    static List<Piece> of(long offset, int length, int clusterBits, int version, Entries entries) throws IOException {
        List<Piece> pieces = new ArrayList<>();
        long clusterSize = 1L << clusterBits;
        long end = offset + length;
        Piece open = null;
        for (long at = offset; at < end; ) {
            long cluster = at >>> clusterBits;
            int within = (int) (at & (clusterSize - 1));
            int n = (int) Math.min(end - at, clusterSize - within);
            long entry = entries.entry(cluster);
            Piece next = switch (ClusterEntry.kind(entry, version)) {
                case DATA -> new HostData(at, (entry & Tables.OFFSET_MASK) + within, n);
                case COMPRESSED -> new Compressed(at, entry, within, n);
                case ZERO -> new Zeroes(at, n);
                case UNALLOCATED -> new FromBacking(at, n);
            };
            Piece joined = open == null ? null : joined(open, next);
            if (joined != null) {
                open = joined;
            } else {
                if (open != null) {
                    pieces.add(open);
                }
                open = next;
            }
            at += n;
        }
        if (open != null) {
            pieces.add(open);
        }
        return pieces;
    }

    /** {@code a} followed by {@code b} as one piece, or null where they need an I/O each. */
    private static Piece joined(Piece a, Piece b) {
        int length = a.length() + b.length();
        return switch (a) {
            case HostData d when b instanceof HostData e && d.host() + d.length() == e.host() ->
                    new HostData(d.guest(), d.host(), length);
            case Zeroes z when b instanceof Zeroes -> new Zeroes(z.guest(), length);
            case FromBacking f when b instanceof FromBacking -> new FromBacking(f.guest(), length);
            case HostData _, Zeroes _, FromBacking _, Compressed _ -> null;
        };
    }
}
