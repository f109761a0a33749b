package dev.sprout.format.qcow2;

/** What an L2 entry says about its guest cluster (qcow2.txt: "Cluster mapping"). */
final class ClusterEntry {

    /** How a guest cluster reads. */
    enum Kind {
        /** From its host cluster. */
        DATA,
        /** Decompressed from the host file. */
        COMPRESSED,
        /** As zeroes, whatever the backing file holds. */
        ZERO,
        /** From the backing file, or as zeroes without one. */
        UNALLOCATED
    }

    private ClusterEntry() {
    }

    static Kind kind(long entry, int version) {
        if ((entry & Tables.COMPRESSED) != 0) {
            return Kind.COMPRESSED;
        }
        if (version >= 3 && (entry & Tables.ZERO) != 0) {
            return Kind.ZERO;
        }
        return (entry & Tables.OFFSET_MASK) != 0 ? Kind.DATA : Kind.UNALLOCATED;
    }

    /** A data cluster with a refcount of exactly one: written in place. */
    static boolean writableInPlace(long entry, int version) {
        return kind(entry, version) == Kind.DATA && (entry & Tables.COPIED) != 0;
    }

    /** A zero cluster that keeps its own host cluster: a write may fill that cluster. */
    static boolean preallocatedZero(long entry, int version) {
        return kind(entry, version) == Kind.ZERO && (entry & Tables.OFFSET_MASK) != 0 && (entry & Tables.COPIED) != 0;
    }

    /** Whether the entry maps host space holding guest data (what {@code info} counts as allocated). */
    static boolean holdsData(long entry, int version) {
        Kind kind = kind(entry, version);
        return kind == Kind.DATA || kind == Kind.COMPRESSED;
    }

    /** Drops the references {@code entry} holds on host clusters, once the new mapping is durable. */
    static void release(long entry, Qcow2Header header, Refcounts refcounts) {
        if ((entry & Tables.COMPRESSED) != 0) {
            refcounts.free(CompressedCluster.hostOffset(entry, header.clusterBits()),
                    CompressedCluster.storedLength(entry, header.clusterBits()));
        } else if ((entry & Tables.OFFSET_MASK) != 0) {
            refcounts.free(entry & Tables.OFFSET_MASK, header.clusterSize());
        }
    }
}
