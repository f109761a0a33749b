package dev.sprout.format.qcow2;

import dev.sprout.block.BlockDevice;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The read path: a request's clusters under their shared locks, cut by {@link ReadPlan} into pieces
 * that each take one I/O: host clusters that lie back to back in one read, compressed clusters
 * decompressed one by one, zero clusters filled at once, and runs of unallocated clusters in one
 * read of the backing file (zeroes past its end or without one).
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
        readPieces(offset, dst, this::readPiece);
    }

    /**
     * Like {@link #read} but only if no byte needs waiting for the disk: host data in the page
     * cache, zero clusters, and backing ranges the backing device can read at once. Returns false
     * otherwise, with {@code dst}'s position and limit as they were.
     */
    boolean readIfReady(long offset, ByteBuffer dst) throws IOException {
        int start = dst.position();
        if (readPieces(offset, dst, this::readPieceIfReady)) {
            return true;
        }
        dst.position(start);
        return false;
    }

    /** Reads one piece into {@code dst}, whose remaining bytes are the piece's, or declines (false). */
    private interface PieceReader {
        boolean read(ReadPlan.Piece piece, ByteBuffer dst) throws IOException;
    }

    /**
     * Fills {@code dst} from guest {@code offset} on, as many clusters at a time as one lock call
     * may hold, each piece of their plan by {@code reader} under their shared locks; stops and
     * returns false at the first piece it declines. {@code dst}'s limit is restored.
     */
    private boolean readPieces(long offset, ByteBuffer dst, PieceReader reader) throws IOException {
        long at = offset;
        int limit = dst.limit();
        try {
            while (dst.position() < limit) {
                long from = at;
                int n = windowLength(at, limit - dst.position());
                boolean read = locks.sharedGet(at >>> header.clusterBits(), clusters(at, n),
                        () -> readEach(plan(from, n), dst, reader));
                if (!read) {
                    return false;
                }
                at += n;
            }
            return true;
        } finally {
            dst.limit(limit);
        }
    }

    /** Reads {@code pieces} in order into {@code dst}, each by {@code reader}, until one is declined. */
    private static boolean readEach(List<ReadPlan.Piece> pieces, ByteBuffer dst, PieceReader reader)
            throws IOException {
        for (ReadPlan.Piece piece : pieces) {
            dst.limit(dst.position() + piece.length());
            if (!reader.read(piece, dst)) {
                return false;
            }
        }
        return true;
    }

    /** How many of {@code remaining} bytes from {@code at} on lie in the clusters one lock call may hold. */
    private int windowLength(long at, int remaining) {
        long first = at >>> header.clusterBits();
        long windowEnd = (first + ClusterLocks.MAX_CLUSTERS) << header.clusterBits();
        return (int) Math.min(remaining, windowEnd - at);
    }

    /** How many clusters {@code [at, at + length)} touches. */
    private int clusters(long at, int length) {
        return (int) (((at + length - 1) >>> header.clusterBits()) - (at >>> header.clusterBits()) + 1);
    }

    private List<ReadPlan.Piece> plan(long offset, int length) throws IOException {
        return ReadPlan.of(offset, length, header.clusterBits(), header.version(), map::entry);
    }

    /** {@link #readPiece} if that needs no waiting; the caller holds the clusters' locks. */
    private boolean readPieceIfReady(ReadPlan.Piece piece, ByteBuffer dst) throws IOException {
        return switch (piece) {
            case ReadPlan.HostData d -> file.readIfCached(d.host(), dst);
            case ReadPlan.Compressed _ -> false;
            case ReadPlan.Zeroes _ -> {
                fillZeroes(dst);
                yield true;
            }
            case ReadPlan.FromBacking b -> readBacking(b.guest(), dst, true);
        };
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
        int limit = dst.limit();
        try {
            readEach(plan((cluster << header.clusterBits()) + within, dst.remaining()), dst, this::readPiece);
        } finally {
            dst.limit(limit);
        }
    }

    /**
     * Reads one piece into {@code dst}, whose remaining bytes are the piece's, and returns true (a
     * {@link PieceReader} that never declines); the caller holds the clusters' locks.
     */
    private boolean readPiece(ReadPlan.Piece piece, ByteBuffer dst) throws IOException {
        switch (piece) {
            case ReadPlan.HostData d -> file.read(d.host(), dst, "data");
            case ReadPlan.Compressed c -> dst.put(
                    CompressedCluster.read(file, c.entry(), header.clusterBits(), header.compressionType()),
                    c.within(), c.length());
            case ReadPlan.Zeroes _ -> fillZeroes(dst);
            case ReadPlan.FromBacking b -> readBacking(b.guest(), dst, false);
        }
        return true;
    }

    /**
     * Reads the backing device's bytes from {@code guest} into {@code dst}, zeroes past its end (or
     * all zeroes without one); with {@code onlyIfReady}, only if the backing device can read them
     * at once, else returns false having read nothing.
     */
    private boolean readBacking(long guest, ByteBuffer dst, boolean onlyIfReady) throws IOException {
        if (backing != null && guest < backing.size()) {
            int limit = dst.limit();
            dst.limit((int) Math.min(limit, dst.position() + backing.size() - guest));
            try {
                if (!onlyIfReady) {
                    backing.read(guest, dst);
                } else if (!backing.readIfReady(guest, dst)) {
                    return false;
                }
            } finally {
                dst.limit(limit);
            }
        }
        fillZeroes(dst);
        return true;
    }

    private static void fillZeroes(ByteBuffer dst) {
        MemorySegment.ofBuffer(dst).fill((byte) 0); // the bytes from position to limit
        dst.position(dst.limit());
    }
}
