package dev.sprout.format.qcow2;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Rebuilds the refcounts of an image whose dirty bit is set (qcow2.txt, incompatible feature bit
 * 0: "refcounts may be inconsistent, make sure to scan L1/L2 tables to repair refcounts before
 * accessing the image"), as qemu does when it opens such an image for writing. Every host
 * cluster's count is computed from the header, the L1 table and the L2 tables; new refcount blocks
 * and a new table are written past everything in use, then the header points at them, then the
 * dirty bit is cleared, each step forced. A crash in between leaves the image dirty, so the next
 * open rebuilds again; the old refcount structures become free space.
 */
final class RefcountRebuild {

    /** Byte 48 of the header: refcount_table_offset, then refcount_table_clusters. */
    private static final long REFCOUNT_TABLE_FIELDS = 48;
    /** Byte 72 of the header: incompatible_features. */
    private static final long INCOMPATIBLE_FIELD = 72;

    /** The host file. */
    private final ImageFile file;
    /** The header as read. */
    private final Qcow2Header header;
    /** log2 of the cluster size. */
    private final int clusterBits;
    /** Computed references per host cluster. */
    private char[] counts = new char[1024];
    /** One past the last host cluster referenced. */
    private long end;

    private RefcountRebuild(ImageFile file, Qcow2Header header) {
        this.file = file;
        this.header = header;
        this.clusterBits = header.clusterBits();
    }

    /** Rebuilds the refcounts of a dirty image (version 3, 16-bit refcounts, no snapshots) and returns the clean header. */
    static Qcow2Header run(ImageFile file, Qcow2Header header) throws IOException {
        return new RefcountRebuild(file, header).rebuild();
    }

    private Qcow2Header rebuild() throws IOException {
        long clusterSize = 1L << clusterBits;
        reference(0, clusterSize);
        long l1Bytes = (long) header.l1Size() * 8;
        reference(header.l1Offset(), l1Bytes);
        ByteBuffer l1 = ByteBuffer.allocate((int) l1Bytes);
        file.read(header.l1Offset(), l1, "l1");
        ByteBuffer l2 = ByteBuffer.allocate((int) clusterSize);
        for (int i = 0; i < header.l1Size(); i++) {
            long l2Offset = l1.getLong(i * 8) & Tables.OFFSET_MASK;
            if (l2Offset == 0) {
                continue;
            }
            reference(l2Offset, clusterSize);
            l2.clear();
            file.read(l2Offset, l2, "l2");
            for (int j = 0; j < clusterSize / 8; j++) {
                long entry = l2.getLong(j * 8);
                if ((entry & Tables.COMPRESSED) != 0) {
                    reference(CompressedCluster.hostOffset(entry, clusterBits), CompressedCluster.storedLength(entry, clusterBits));
                } else if ((entry & Tables.OFFSET_MASK) != 0) {
                    reference(entry & Tables.OFFSET_MASK, clusterSize);
                }
            }
        }
        writeRefcounts(Math.max(end, (file.size() + clusterSize - 1) >>> clusterBits));
        ByteBuffer incompatible = ByteBuffer.allocate(8).putLong(0, header.incompatible() & ~Qcow2Header.DIRTY);
        file.write(INCOMPATIBLE_FIELD, incompatible, "header");
        file.force();
        return Qcow2Header.read(file.channel(), file.name());
    }

    /** Counts one reference to every host cluster {@code [offset, offset+length)} touches. */
    private void reference(long offset, long length) throws IOException {
        for (long c = offset >>> clusterBits; c << clusterBits < offset + length; c++) {
            if (c >= counts.length) {
                if (c >= Integer.MAX_VALUE - 8) {
                    throw Qcow2Header.invalid(file.name() + ": reference to host cluster " + c + " is out of reach");
                }
                counts = Arrays.copyOf(counts, (int) Math.max(c + 1, Math.min(Integer.MAX_VALUE - 8, 2L * counts.length)));
            }
            if (counts[(int) c] == Character.MAX_VALUE) {
                throw Qcow2Header.invalid(file.name() + ": host cluster " + c + " has more references than 16-bit refcounts hold");
            }
            counts[(int) c]++;
            end = Math.max(end, c + 1);
        }
    }

    /** Writes blocks and a table covering {@code used} clusters and themselves from {@code used} on, then points the header at them. */
    private void writeRefcounts(long used) throws IOException {
        int clusterSize = 1 << clusterBits;
        long blockEntries = clusterSize / 2;
        long blocks = 1;
        long tableClusters = 1;
        while (true) {
            long total = used + blocks + tableClusters;
            long neededBlocks = (total + blockEntries - 1) / blockEntries;
            long neededTable = (neededBlocks * 8 + clusterSize - 1) / clusterSize;
            if (neededBlocks <= blocks && neededTable <= tableClusters) {
                break;
            }
            blocks = Math.max(blocks, neededBlocks);
            tableClusters = Math.max(tableClusters, neededTable);
        }
        reference(used << clusterBits, (blocks + tableClusters) << clusterBits);
        long tableOffset = (used + blocks) << clusterBits;
        ByteBuffer table = ByteBuffer.allocate((int) (tableClusters * clusterSize));
        ByteBuffer block = ByteBuffer.allocate(clusterSize);
        for (long b = 0; b < blocks; b++) {
            block.clear();
            for (int e = 0; e < blockEntries; e++) {
                long c = b * blockEntries + e;
                block.putShort(e * 2, c < counts.length ? (short) counts[(int) c] : 0);
            }
            long blockOffset = (used + b) << clusterBits;
            file.write(blockOffset, block, "refcount block");
            table.putLong((int) (b * 8), blockOffset);
        }
        file.write(tableOffset, table, "refcount table");
        file.force();
        ByteBuffer fields = ByteBuffer.allocate(12).putLong(tableOffset).putInt((int) tableClusters).flip();
        file.write(REFCOUNT_TABLE_FIELDS, fields, "header");
        file.force();
    }
}
