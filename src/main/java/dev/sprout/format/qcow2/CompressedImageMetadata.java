package dev.sprout.format.qcow2;

import dev.sprout.os.SerialWrites;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * The tables of an image that {@link CompressedImageWriter} fills front to back: L2 entries and
 * host cluster refcounts as the data is placed, then, once it all is, L2 tables, the L1 table, the
 * refcount table and blocks after the data and the header in cluster 0 (qcow2.txt: "Header",
 * "Host cluster management", "Cluster mapping"). Version 3, 16-bit refcounts, no backing file.
 */
final class CompressedImageMetadata {

    private final int clusterBits;
    private final int clusterSize;
    private final long virtualSize;
    private final Qcow2Compression compression;
    /** L2 tables by index, only those with a mapped cluster. */
    private final Map<Long, long[]> l2Tables = new TreeMap<>();
    /** Refcount of each host cluster, by index. */
    private short[] refcounts = new short[1024];

    CompressedImageMetadata(int clusterBits, long virtualSize, Qcow2Compression compression) {
        this.clusterBits = clusterBits;
        this.clusterSize = 1 << clusterBits;
        this.virtualSize = virtualSize;
        this.compression = compression;
        count(0, clusterSize); // the header
    }

    /**
     * Maps guest cluster {@code cluster} to {@code length} compressed bytes at host offset
     * {@code offset} (qcow2.txt: "Compressed Clusters Descriptor": the offset, then the count of
     * 512-byte sectors the data reaches into beyond the first). Every host cluster the data
     * touches is counted once more, as qemu-img check counts them.
     */
    void mapCompressed(long cluster, long offset, int length) {
        int x = 62 - (clusterBits - 8);
        long extraSectors = ((offset + length - 1) >> 9) - (offset >> 9);
        entries(cluster)[(int) (cluster & (entriesPerTable() - 1))] = Tables.COMPRESSED | extraSectors << x | offset;
        count(offset, length);
    }

    /** Maps guest cluster {@code cluster} to the whole, uncompressed host cluster at {@code offset}. */
    void mapRaw(long cluster, long offset) {
        entries(cluster)[(int) (cluster & (entriesPerTable() - 1))] = Tables.COPIED | offset;
        count(offset, clusterSize);
    }

    /**
     * Writes the tables from {@code end} (cluster-aligned, after the data), then the header; returns
     * the end of the file.
     */
    long write(FileChannel file, long end) throws IOException {
        long at = end;
        long guestClusters = (virtualSize + clusterSize - 1) >> clusterBits;
        long l1Size = Math.max(1, (guestClusters + entriesPerTable() - 1) / entriesPerTable());
        long[] l1 = new long[(int) l1Size];
        for (Map.Entry<Long, long[]> table : l2Tables.entrySet()) {
            l1[table.getKey().intValue()] = Tables.COPIED | at;
            ByteBuffer bytes = ByteBuffer.allocate(clusterSize);
            bytes.asLongBuffer().put(table.getValue());
            SerialWrites.writeAll(file, at, bytes);
            count(at, clusterSize);
            at += clusterSize;
        }
        long l1Offset = at;
        long l1Bytes = roundUp(l1Size * 8);
        ByteBuffer l1Table = ByteBuffer.allocate((int) l1Bytes);
        l1Table.asLongBuffer().put(l1);
        SerialWrites.writeAll(file, l1Offset, l1Table);
        count(l1Offset, l1Bytes);
        at += l1Bytes;

        // The refcount table and blocks count themselves: grow both until they cover everything.
        long entriesPerBlock = clusterSize / 2;
        long tableClusters = 1;
        long blocks = 1;
        while (true) {
            long total = (at >> clusterBits) + tableClusters + blocks;
            long neededBlocks = (total + entriesPerBlock - 1) / entriesPerBlock;
            long neededTable = roundUp(neededBlocks * 8) >> clusterBits;
            if (neededBlocks <= blocks && neededTable <= tableClusters) {
                break;
            }
            blocks = Math.max(blocks, neededBlocks);
            tableClusters = Math.max(tableClusters, neededTable);
        }
        long tableOffset = at;
        long blocksOffset = tableOffset + (tableClusters << clusterBits);
        count(tableOffset, (tableClusters + blocks) << clusterBits);
        ByteBuffer table = ByteBuffer.allocate((int) (tableClusters << clusterBits));
        for (long b = 0; b < blocks; b++) {
            table.putLong((int) (b * 8), blocksOffset + (b << clusterBits));
        }
        ByteBuffer counts = ByteBuffer.allocate((int) (blocks << clusterBits));
        counts.asShortBuffer().put(refcounts, 0, Math.min(refcounts.length, (int) (blocks * entriesPerBlock)));
        SerialWrites.writeAll(file, tableOffset, table);
        SerialWrites.writeAll(file, blocksOffset, counts);
        SerialWrites.writeAll(file, 0, header(l1Size, l1Offset, tableOffset, tableClusters));
        return blocksOffset + (blocks << clusterBits);
    }

    private ByteBuffer header(long l1Size, long l1Offset, long tableOffset, long tableClusters) {
        ByteBuffer head = ByteBuffer.allocate(clusterSize);
        long incompatible = compression == Qcow2Compression.DEFLATE ? 0 : Qcow2Header.COMPRESSION_TYPE;
        head.putInt(Qcow2Header.MAGIC).putInt(3).putLong(0).putInt(0).putInt(clusterBits).putLong(virtualSize)
                .putInt(0).putInt((int) l1Size).putLong(l1Offset).putLong(tableOffset).putInt((int) tableClusters)
                .putInt(0).putLong(0)
                .putLong(incompatible).putLong(0).putLong(0).putInt(4).putInt(Qcow2Header.V3_LENGTH)
                .put((byte) compression.headerValue).put(new byte[Qcow2Header.V3_LENGTH - 105])
                .putInt(Qcow2Header.EXT_END).putInt(0);
        return head.clear();
    }

    private long[] entries(long cluster) {
        return l2Tables.computeIfAbsent(cluster / entriesPerTable(), t -> new long[(int) entriesPerTable()]);
    }

    private long entriesPerTable() {
        return clusterSize / 8;
    }

    /** Counts one more reference to every host cluster that {@code [offset, offset + length)} touches. */
    private void count(long offset, long length) {
        long last = (offset + length - 1) >> clusterBits;
        if (last >= refcounts.length) {
            refcounts = Arrays.copyOf(refcounts, (int) Math.max(last + 1, refcounts.length * 2L));
        }
        for (long c = offset >> clusterBits; c <= last; c++) {
            refcounts[(int) c]++;
        }
    }

    private long roundUp(long bytes) {
        return (bytes + clusterSize - 1) & -clusterSize;
    }
}
