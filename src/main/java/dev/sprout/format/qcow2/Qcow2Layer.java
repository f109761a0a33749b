package dev.sprout.format.qcow2;

import dev.sprout.format.qcow2.ChainMap.Kind;
import dev.sprout.format.qcow2.ChainMap.Status;
import java.io.IOException;
import java.nio.file.Path;

/** A qcow2 file of a {@link ChainMap}: the status of its own clusters, read from its L1 and L2 tables. */
final class Qcow2Layer implements ChainMap.Layer {

    /** At most this many clusters looked at per status, so huge runs are answered in pieces. */
    private static final long MAX_CLUSTERS = 1 << 20;

    /** The file as opened. */
    private final Path path;
    /** The file name as shown. */
    private final Path shown;
    /** The host file, read-only. */
    private final ImageFile file;
    /** The header as read. */
    private final Qcow2Header header;
    /** The mapping tables. */
    private final Tables tables;

    private Qcow2Layer(Path path, Path shown, ImageFile file, Qcow2Header header, Tables tables) {
        this.path = path;
        this.shown = shown;
        this.file = file;
        this.header = header;
        this.tables = tables;
    }

    static Qcow2Layer open(Path path, Path shown) throws IOException {
        ImageFile file = ImageFile.open(path, false);
        try {
            Qcow2Header header = Qcow2Header.read(file.channel(), file.name());
            return new Qcow2Layer(path, shown, file, header, new Tables(file, header));
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    Path path() {
        return path;
    }

    Qcow2Header header() {
        return header;
    }

    @Override
    public Path shown() {
        return shown;
    }

    @Override
    public long size() {
        return header.size();
    }

    @Override
    public Status status(long at, long end) throws IOException {
        int bits = header.clusterBits();
        long cluster = at >>> bits;
        Kind kind = kind(cluster);
        long next = cluster + 1;
        for (long looked = 1; (next << bits) < end && looked < MAX_CLUSTERS; looked++) {
            if (kind == Kind.UNALLOCATED && !tables.hasL2(next)) {
                // A whole L2 table's worth of clusters is unallocated: skip it at once.
                next = (next / tables.l2Entries() + 1) * tables.l2Entries();
            } else if (kind(next) == kind) {
                next++;
            } else {
                break;
            }
        }
        return new Status(kind, Math.min(end, next << bits));
    }

    /** How guest cluster {@code cluster} reads (qcow2.txt: "Cluster mapping"). */
    private Kind kind(long cluster) throws IOException {
        long entry = tables.entry(cluster);
        return switch (ClusterEntry.kind(entry, header.version())) {
            case DATA, COMPRESSED -> Kind.DATA;
            case ZERO -> (entry & Tables.OFFSET_MASK) != 0 ? Kind.ZERO : Kind.HOLE;
            case UNALLOCATED -> Kind.UNALLOCATED;
        };
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
