package dev.sprout.format.qcow2;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The active L1 table and a cache of L2 tables (qcow2.txt: "Cluster mapping"). Changed L2 tables
 * stay pinned until {@link #takeDirty} hands them to a flush; clean ones are evicted least
 * recently used first. Not thread-safe: the image calls it under its metadata lock.
 */
final class Tables {

    /** Bits 9-55 of an L1, L2 or refcount table entry: a cluster-aligned host offset. */
    static final long OFFSET_MASK = 0x00ff_ffff_ffff_fe00L;
    /** Bit 63: the cluster's refcount is exactly one, so it may be written in place. */
    static final long COPIED = 1L << 63;
    /** Bit 62 of an L2 entry: a compressed cluster. */
    static final long COMPRESSED = 1L << 62;
    /** Bit 0 of a standard L2 entry: reads as zeroes. */
    static final long ZERO = 1;

    /** The host file. */
    private final ImageFile file;
    /** log2 of the cluster size. */
    private final int clusterBits;
    /** Entries per L2 table. */
    private final int l2Entries;
    /** The active L1 table. */
    private final long[] l1;
    /** Where the L1 table lives. */
    private final long l1Offset;
    /** Whether L1 changed since the last {@link #takeDirty}. */
    private boolean l1Dirty;
    /** Changed L2 tables by host offset, never evicted. */
    private final Map<Long, long[]> dirty = new HashMap<>();
    /** Tables handed to a flush and not yet written: pinned, since the file still holds their old content. */
    private final Map<Long, long[]> writing = new HashMap<>();
    /** Clean L2 tables by host offset, in access order. */
    private final LinkedHashMap<Long, long[]> clean;

    Tables(ImageFile file, Qcow2Header header) throws IOException {
        this.file = file;
        this.clusterBits = header.clusterBits();
        this.l2Entries = (1 << clusterBits) / 8;
        this.l1Offset = header.l1Offset();
        long needed = (header.size() + ((long) l2Entries << clusterBits) - 1) / ((long) l2Entries << clusterBits);
        if (header.l1Size() < needed || header.l1Size() > (32 << 20) / 8) {
            throw Qcow2Header.invalid(file + ": L1 table of " + header.l1Size() + " entries for a virtual size needing " + needed);
        }
        ByteBuffer bytes = ByteBuffer.allocate(header.l1Size() * 8);
        file.read(l1Offset, bytes, "l1");
        bytes.flip();
        l1 = new long[header.l1Size()];
        bytes.asLongBuffer().get(l1);
        int capacity = Math.max(16, (32 << 20) >>> clusterBits);
        clean = new LinkedHashMap<>(capacity, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, long[]> eldest) {
                return size() > capacity;
            }
        };
    }

    int l2Entries() {
        return l2Entries;
    }

    /** The L2 entry of guest cluster {@code cluster}, 0 where no L2 table covers it. */
    long entry(long cluster) throws IOException {
        long l2Offset = l1[(int) (cluster / l2Entries)] & OFFSET_MASK;
        if (l2Offset == 0) {
            return 0;
        }
        return table(l2Offset)[(int) (cluster % l2Entries)];
    }

    /** Whether guest cluster {@code cluster} has an L2 table, so setting its entry allocates nothing. */
    boolean hasL2(long cluster) {
        return (l1[(int) (cluster / l2Entries)] & OFFSET_MASK) != 0;
    }

    /** Gives guest cluster {@code cluster} the empty L2 table at {@code l2Offset}; it has none yet. */
    void addL2(long cluster, long l2Offset) {
        int index = (int) (cluster / l2Entries);
        l1[index] = l2Offset | COPIED;
        l1Dirty = true;
        dirty.put(l2Offset, new long[l2Entries]);
    }

    /** Sets the L2 entry of guest cluster {@code cluster}, allocating its L2 table if it has none. */
    void set(long cluster, long entry, Refcounts refcounts) throws IOException {
        int index = (int) (cluster / l2Entries);
        long l2Offset = l1[index] & OFFSET_MASK;
        long[] table;
        if (l2Offset == 0) {
            if (entry == 0) {
                return;
            }
            l2Offset = refcounts.allocate();
            table = new long[l2Entries];
            l1[index] = l2Offset | COPIED;
            l1Dirty = true;
        } else {
            table = table(l2Offset);
            clean.remove(l2Offset);
        }
        table[(int) (cluster % l2Entries)] = entry;
        dirty.put(l2Offset, table);
    }

    /** How many guest clusters map to data or compressed clusters of this image. */
    long dataClusters(int version) throws IOException {
        long count = 0;
        for (long l1Entry : l1) {
            long l2Offset = l1Entry & OFFSET_MASK;
            if (l2Offset != 0) {
                for (long entry : table(l2Offset)) {
                    count += ClusterEntry.holdsData(entry, version) ? 1 : 0;
                }
            }
        }
        return count;
    }

    /** The changed tables to write, L2s (by offset) first, then L1 when it changed; all marked clean. */
    Dirty takeDirty() {
        Map<Long, ByteBuffer> l2Writes = new HashMap<>();
        for (Map.Entry<Long, long[]> e : dirty.entrySet()) {
            l2Writes.put(e.getKey(), bytes(e.getValue()));
            writing.put(e.getKey(), e.getValue());
        }
        dirty.clear();
        ByteBuffer l1Write = l1Dirty ? bytes(l1) : null;
        l1Dirty = false;
        return new Dirty(l2Writes, l1Write, l1Offset);
    }

    /** The tables of the last {@link #takeDirty} are on disk: they may be evicted again. */
    void written() {
        for (Map.Entry<Long, long[]> e : writing.entrySet()) {
            if (!dirty.containsKey(e.getKey())) {
                clean.put(e.getKey(), e.getValue());
            }
        }
        writing.clear();
    }

    /** A flush failed: everything it took is dirty again, so the next flush retries it. */
    void requeue() {
        writing.forEach(dirty::putIfAbsent);
        writing.clear();
        l1Dirty = true;
    }

    /** Mapping metadata to write: L2 tables, then L1 at {@code l1Offset} when not null. */
    record Dirty(Map<Long, ByteBuffer> l2, ByteBuffer l1, long l1Offset) {
    }

    private long[] table(long l2Offset) throws IOException {
        long[] table = dirty.get(l2Offset);
        if (table == null) {
            table = writing.get(l2Offset);
        }
        if (table == null) {
            table = clean.get(l2Offset);
        }
        if (table == null) {
            if ((l2Offset & ((1L << clusterBits) - 1)) != 0) {
                throw Qcow2Header.invalid(file + " l2@0x" + Long.toHexString(l2Offset) + ": not cluster-aligned");
            }
            ByteBuffer bytes = ByteBuffer.allocate(1 << clusterBits);
            file.read(l2Offset, bytes, "l2");
            bytes.flip();
            table = new long[l2Entries];
            bytes.asLongBuffer().get(table);
            clean.put(l2Offset, table);
        }
        return table;
    }

    private static ByteBuffer bytes(long[] values) {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * 8);
        bytes.asLongBuffer().put(values);
        return bytes;
    }
}
