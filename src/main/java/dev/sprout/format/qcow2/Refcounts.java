package dev.sprout.format.qcow2;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The refcount table and its blocks (qcow2.txt: "Host cluster management"), 16-bit entries, all
 * held in memory once loaded, and cluster allocation over them. Frees are deferred: a freed
 * cluster keeps its count until the mapping that dropped it is durable ({@link #takeFrees}).
 * Not thread-safe: the image calls it under its metadata lock.
 */
final class Refcounts {

    /** The host file. */
    private final ImageFile file;
    /** log2 of the cluster size. */
    private final int clusterBits;
    /** Refcount entries per block: cluster size * 8 / 16. */
    private final int blockEntries;
    /** Refcount table entries: host offsets of the blocks, 0 where none. */
    private long[] table;
    /** Where the table lives. */
    private long tableOffset;
    /** Loaded blocks by table index. */
    private final Map<Integer, char[]> blocks = new HashMap<>();
    /** Table indices of blocks changed since the last {@link #takeDirty}. */
    private final TreeSet<Integer> dirtyBlocks = new TreeSet<>();
    /** Whether the table changed since the last {@link #takeDirty}. */
    private boolean tableDirty;
    /** Whether the table moved, so the header must point at it. */
    private boolean tableMoved;
    /** Host clusters whose references were dropped, one entry per reference. */
    private List<Long> pendingFrees = new ArrayList<>();
    /** The first cluster past every cluster in use or in the file. */
    private long endCluster;
    /** No free cluster lies below this one. */
    private long hint = 1;
    /** Clusters taken since the last {@link #takePlaced}: data, L2 tables, refcount blocks and table. */
    private List<Long> placed = new ArrayList<>();

    Refcounts(ImageFile file, Qcow2Header header) throws java.io.IOException {
        this.file = file;
        this.clusterBits = header.clusterBits();
        this.blockEntries = (1 << clusterBits) / 2;
        this.tableOffset = header.refcountTableOffset();
        ByteBuffer bytes = ByteBuffer.allocate(header.refcountTableClusters() << clusterBits);
        file.read(tableOffset, bytes, "refcount table");
        bytes.flip();
        table = new long[bytes.remaining() / 8];
        bytes.asLongBuffer().get(table);
        long size = file.size();
        endCluster = (size + (1L << clusterBits) - 1) >>> clusterBits;
        for (int t = 0; t < table.length; t++) {
            long offset = table[t] & Tables.OFFSET_MASK;
            if (offset != 0) {
                endCluster = Math.max(endCluster, (offset >>> clusterBits) + 1);
            }
        }
    }

    long refcount(long cluster) throws java.io.IOException {
        char[] block = block((int) (cluster / blockEntries), false);
        return block == null ? 0 : block[(int) (cluster % blockEntries)];
    }

    /**
     * The host file's length in clusters once {@code clusters} more are allocated, free clusters
     * below the end taken first; one more for a refcount block and one for the table when it grows.
     */
    long endAfter(int clusters) throws java.io.IOException {
        int found = 0;
        for (long c = hint; c < endCluster && found < clusters; c++) {
            found += refcount(c) == 0 ? 1 : 0;
        }
        long growth = clusters - found;
        return endCluster + (growth > 0 ? growth + 2 : 0);
    }

    /** Takes a free cluster, reusing freed ones before growing the file; returns its host offset. */
    long allocate() throws java.io.IOException {
        long cluster = hint;
        while (cluster < endCluster && refcount(cluster) != 0) {
            cluster++;
        }
        if (cluster >= endCluster) {
            cluster = endCluster++;
        }
        hint = cluster + 1;
        set(cluster, 1);
        placed.add(cluster);
        return cluster << clusterBits;
    }

    /**
     * Frees at once a cluster {@link #allocate} returned that nothing maps yet (its data or table
     * write failed); deferring is needed only for clusters a durable mapping may still name.
     */
    void unclaim(long offset) throws java.io.IOException {
        long cluster = offset >>> clusterBits;
        set(cluster, 0);
        hint = Math.min(hint, cluster);
        placed.remove(Long.valueOf(cluster));
    }

    /** The clusters taken since the last call, in order, so the image can back them with host space. */
    List<Long> takePlaced() {
        if (placed.isEmpty()) {
            return List.of();
        }
        List<Long> taken = placed;
        placed = new ArrayList<>();
        return taken;
    }

    /** Drops one reference to each host cluster of {@code [offset, offset+length)}, effective after the next mapping write. */
    void free(long offset, long length) {
        for (long c = offset >>> clusterBits; c << clusterBits < offset + length; c++) {
            pendingFrees.add(c);
        }
    }

    /** The deferred frees, handed over once the mappings that dropped them are durable. */
    List<Long> takeFrees() {
        List<Long> frees = pendingFrees;
        pendingFrees = new ArrayList<>();
        return frees;
    }

    /** Which of {@code frees} reach zero once applied: their host space can be given back first. */
    List<Long> clustersFreedBy(List<Long> frees) throws java.io.IOException {
        Map<Long, Integer> drops = new HashMap<>();
        for (long c : frees) {
            drops.merge(c, 1, Integer::sum);
        }
        List<Long> freed = new ArrayList<>();
        for (Map.Entry<Long, Integer> e : drops.entrySet()) {
            if (refcount(e.getKey()) <= e.getValue()) {
                freed.add(e.getKey());
            }
        }
        return freed;
    }

    void applyFrees(List<Long> frees) throws java.io.IOException {
        for (long c : frees) {
            long count = refcount(c);
            if (count > 0) {
                set(c, count - 1);
                if (count == 1) {
                    hint = Math.min(hint, c);
                }
            }
        }
    }

    /** The metadata to write, as (offset, bytes) in order: blocks first, then the table if it changed. */
    Dirty takeDirty() {
        Map<Long, ByteBuffer> blockWrites = new HashMap<>();
        for (int t : dirtyBlocks) {
            char[] block = blocks.get(t);
            ByteBuffer bytes = ByteBuffer.allocate(block.length * 2);
            bytes.asCharBuffer().put(block);
            blockWrites.put(table[t] & Tables.OFFSET_MASK, bytes);
        }
        dirtyBlocks.clear();
        ByteBuffer tableWrite = null;
        if (tableDirty) {
            tableWrite = ByteBuffer.allocate(table.length * 8);
            tableWrite.asLongBuffer().put(table);
        }
        Dirty dirty = new Dirty(blockWrites, tableWrite, tableOffset, tableMoved ? table.length * 8 >>> clusterBits : -1);
        tableDirty = false;
        tableMoved = false;
        return dirty;
    }

    /**
     * Refcount metadata to write: blocks, then the table at {@code tableOffset}, then, when
     * {@code movedClusters >= 0}, the header fields pointing at it.
     */
    record Dirty(Map<Long, ByteBuffer> blocks, ByteBuffer table, long tableOffset, int movedClusters) {
    }

    /** A flush failed: every block, the table and header fields, and {@code frees} are written again next time. */
    void requeue(List<Long> frees) {
        dirtyBlocks.addAll(blocks.keySet());
        tableDirty = true;
        tableMoved = true;
        pendingFrees.addAll(frees);
    }

    /** Every host cluster in use, in bytes. */
    long allocatedBytes() throws java.io.IOException {
        long count = 0;
        for (long c = 0; c < endCluster; c++) {
            count += refcount(c) > 0 ? 1 : 0;
        }
        return count << clusterBits;
    }

    private void set(long cluster, long value) throws java.io.IOException {
        int t = (int) (cluster / blockEntries);
        if (t >= table.length) {
            growTable(t);
        }
        char[] block = block(t, true);
        block[(int) (cluster % blockEntries)] = (char) value;
        dirtyBlocks.add(t);
        endCluster = Math.max(endCluster, cluster + 1);
    }

    /** The block for table index {@code t}; with {@code create}, a missing one is placed at the end of the file. */
    private char[] block(int t, boolean create) throws java.io.IOException {
        char[] block = blocks.get(t);
        if (block != null) {
            return block;
        }
        if (t >= table.length || (table[t] & Tables.OFFSET_MASK) == 0) {
            if (!create) {
                return null;
            }
            long cluster = endCluster++;
            block = new char[blockEntries];
            blocks.put(t, block);
            table[t] = cluster << clusterBits;
            tableDirty = true;
            set(cluster, 1);
            placed.add(cluster);
            return block;
        }
        long offset = table[t] & Tables.OFFSET_MASK;
        ByteBuffer bytes = ByteBuffer.allocate(1 << clusterBits);
        file.read(offset, bytes, "refcount block@0x" + Long.toHexString(offset));
        bytes.flip();
        block = new char[blockEntries];
        bytes.asCharBuffer().get(block);
        blocks.put(t, block);
        return block;
    }

    /** Moves the table to the end of the file, at least doubled; the old one is freed later. */
    private void growTable(int needed) throws java.io.IOException {
        int perCluster = (1 << clusterBits) / 8;
        int entries = Math.max(needed + 1, table.length * 2);
        entries = (entries + perCluster - 1) / perCluster * perCluster;
        long oldOffset = tableOffset;
        long oldLength = (long) table.length * 8;
        long[] grown = java.util.Arrays.copyOf(table, entries);
        long first = endCluster;
        int clusters = entries / perCluster;
        endCluster += clusters;
        table = grown;
        tableOffset = first << clusterBits;
        tableDirty = true;
        tableMoved = true;
        for (long c = first; c < first + clusters; c++) {
            set(c, 1);
            placed.add(c);
        }
        free(oldOffset, oldLength);
    }
}
