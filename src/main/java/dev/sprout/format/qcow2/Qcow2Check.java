package dev.sprout.format.qcow2;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A consistency check of a qcow2 image, like {@code qemu-img check}: every host cluster's refcount
 * is computed from the header, the L1 table, the refcount table and blocks and every L2 table, and
 * compared with the stored one. A stored count above the computed one is a leak (wasted space,
 * harmless); below it, or a table entry pointing past the end of the file, at an unaligned offset
 * or into other metadata, is a corruption. Checking opens the file read-only; only
 * {@link #repair} writes, and only leaks, on an image with no corruptions.
 */
public final class Qcow2Check {

    /** How many messages of each kind a result keeps; the counts are always complete. */
    private static final int MAX_MESSAGES = 100;

    /**
     * What a check found.
     *
     * @param clusterSize   the cluster size in bytes
     * @param fileClusters  host clusters in the file
     * @param corruptions   the number of corruptions
     * @param leaks         the number of leaked clusters
     * @param messages      one line per finding (at most 100 of each kind)
     * @param leaked        the leaked clusters (host cluster index), for repair
     * @param expected      their computed refcounts, parallel to {@code leaked}
     * @param allocatedClusters guest clusters with host space (data, compressed, zero with a cluster)
     * @param totalClusters guest clusters of the virtual disk
     * @param fragmentedClusters allocated clusters not right after the previous one in the file (qemu-img's count)
     * @param compressedClusters compressed clusters
     * @param imageEndOffset the end of the last host cluster in use, by stored or computed refcount
     * @param fixedByLeakRepair corruptions (COPIED flags) that repairing the leaks resolves, as qemu-img check -r leaks does
     */
    public record Result(long clusterSize, long fileClusters, long corruptions, long leaks, List<String> messages,
                         long[] leaked, long[] expected, long allocatedClusters, long totalClusters,
                         long fragmentedClusters, long compressedClusters, long imageEndOffset,
                         long fixedByLeakRepair) {

        /** Whether --repair may fix the leaks: every corruption is one that the leak repair resolves. */
        public boolean repairable() {
            return corruptions == fixedByLeakRepair;
        }

        /** qemu-img check's allocation lines: allocated, fragmented and compressed shares, and the image end. */
        public String allocation() {
            return String.format(java.util.Locale.ROOT,
                    "%d/%d = %.2f%% allocated, %.2f%% fragmented, %.2f%% compressed clusters%nImage end offset: %d",
                    allocatedClusters, totalClusters, percent(allocatedClusters, totalClusters),
                    percent(fragmentedClusters, allocatedClusters), percent(compressedClusters, allocatedClusters),
                    imageEndOffset);
        }

        private static double percent(long part, long whole) {
            return whole == 0 ? 0 : 100.0 * part / whole;
        }

        public boolean clean() {
            return corruptions == 0 && leaks == 0;
        }

        /** qemu-img check's exit status: 0 clean, 2 corruptions, 3 leaks only. */
        public int exitCode() {
            return corruptions > 0 ? 2 : leaks > 0 ? 3 : 0;
        }

        /** qemu-img check's closing summary. */
        public String summary() {
            if (clean()) {
                return "No errors were found on the image.";
            }
            StringBuilder out = new StringBuilder();
            if (corruptions > 0) {
                out.append(corruptions).append(" errors were found on the image.\n")
                        .append("Data may be corrupted, or further writes to the image may corrupt it.");
            }
            if (leaks > 0) {
                if (!out.isEmpty()) {
                    out.append("\n\n");
                }
                out.append(leaks).append(" leaked clusters were found on the image.\n")
                        .append("This means waste of disk space, but no harm to data.");
            }
            return out.toString();
        }
    }

    private final ImageFile file;
    private final Qcow2Header header;
    private final int clusterBits;
    private final long clusterSize;
    private final long fileClusters;
    /** Computed refcount per host cluster of the file. */
    private final long[] expected;
    /** What uses each host cluster: 0 nothing, 1 metadata, 2 data, 3 compressed data. */
    private final byte[] use;
    private final List<String> corruptionMessages = new ArrayList<>();
    private final List<String> leakMessages = new ArrayList<>();
    private long corruptions;
    private long allocated;
    private long fragmented;
    private long compressed;
    /** Where the next guest cluster's data would be contiguous, 0 before the first of each L2 table (as qemu-img counts). */
    private long nextContiguous;
    private long fixedByLeakRepair;
    /** Mapping entries whose COPIED flag must agree with the stored refcount: L1 entries, then L2 entries. */
    private final List<Long> l1Mapped = new ArrayList<>();
    private final List<Long> l2Mapped = new ArrayList<>();

    private Qcow2Check(ImageFile file, Qcow2Header header) throws IOException {
        this.file = file;
        this.header = header;
        this.clusterBits = header.clusterBits();
        this.clusterSize = header.clusterSize();
        this.fileClusters = (file.size() + clusterSize - 1) >>> clusterBits;
        if (fileClusters > Integer.MAX_VALUE - 8) {
            throw Qcow2Header.invalid(file.name() + ": " + fileClusters + " host clusters is too many to check");
        }
        this.expected = new long[(int) fileClusters];
        this.use = new byte[(int) fileClusters];
    }

    /** Checks {@code path} without writing to it; refuses an image another process writes (QEMU's reader lock). */
    public static Result check(Path path) throws IOException {
        try (ImageFile file = ImageFile.openStill(path)) {
            return check(file);
        }
    }

    /**
     * Repairs the leaks of {@code found} (a check of {@code path} just made): sets each leaked
     * cluster's refcount to its computed value and punches the clusters that become free. Refuses
     * an image with corruptions. Returns the check made afterwards.
     */
    public static Result repair(Path path, Result found) throws IOException {
        if (!found.repairable()) {
            throw new IllegalStateException("not repairing: " + found.corruptions()
                    + " corruptions were found, and sprout repairs leaks only on an otherwise consistent image");
        }
        try (ImageFile file = ImageFile.open(path, true)) {
            Qcow2Header header = Qcow2Header.read(file.channel(), file.name());
            if (header.snapshots() != 0) {
                throw Qcow2Header.invalid(file.name() + ": has internal snapshots, which sprout does not check");
            }
            Result now = check(file, header);
            if (!now.repairable()) {
                throw new IllegalStateException("not repairing: the image changed and now has corruptions");
            }
            for (int i = 0; i < now.leaked().length; i++) {
                setRefcount(file, header, now.leaked()[i], now.expected()[i]);
            }
            file.force();
            for (int i = 0; i < now.leaked().length; i++) {
                if (now.expected()[i] == 0) {
                    file.punch(now.leaked()[i] << header.clusterBits(), header.clusterSize());
                }
            }
            file.force();
            return check(file, header);
        }
    }

    private static Result check(ImageFile file) throws IOException {
        Qcow2Header header = Qcow2Header.read(file.channel(), file.name());
        if (header.snapshots() != 0) {
            throw Qcow2Header.invalid(file.name() + ": has internal snapshots, which sprout does not check");
        }
        return check(file, header);
    }

    private static Result check(ImageFile file, Qcow2Header header) throws IOException {
        return new Qcow2Check(file, header).run();
    }

    private Result run() throws IOException {
        reference(0, clusterSize, true, "header");
        long l1Offset = header.l1Offset();
        long l1Bytes = (long) header.l1Size() * 8;
        long[] l1 = new long[0];
        if (placed(l1Offset, l1Bytes, "L1 table")) {
            reference(l1Offset, l1Bytes, true, "L1 table");
            l1 = readLongs(l1Offset, header.l1Size(), "L1 table");
        }
        long tableOffset = header.refcountTableOffset();
        long tableBytes = (long) header.refcountTableClusters() << clusterBits;
        long[] refTable = new long[0];
        if (placed(tableOffset, tableBytes, "refcount table")) {
            reference(tableOffset, tableBytes, true, "refcount table");
            refTable = readLongs(tableOffset, (int) (tableBytes / 8), "refcount table");
        }
        for (int t = 0; t < refTable.length; t++) {
            long offset = refTable[t] & Tables.OFFSET_MASK;
            if (offset != 0 && placed(offset, clusterSize, "refcount block " + t)) {
                reference(offset, clusterSize, true, "refcount block " + t);
            }
        }
        int l2Entries = (int) (clusterSize / 8);
        long guestClusters = (header.size() + clusterSize - 1) >>> clusterBits;
        for (int i = 0; i < l1.length; i++) {
            long l2Offset = l1[i] & Tables.OFFSET_MASK;
            if (l2Offset == 0) {
                continue;
            }
            String l2Name = "L2 table " + i + "@0x" + Long.toHexString(l2Offset);
            if (!placed(l2Offset, clusterSize, l2Name)) {
                continue;
            }
            reference(l2Offset, clusterSize, true, l2Name);
            l1Mapped.add(l1[i]);
            long[] l2 = readLongs(l2Offset, l2Entries, l2Name);
            nextContiguous = 0;
            for (int j = 0; j < l2.length; j++) {
                long entry = l2[j];
                long guest = (long) i * l2Entries + j;
                String what = "guest cluster " + guest + " (L2 entry 0x" + Long.toHexString(entry) + ")";
                if ((entry & Tables.COMPRESSED) != 0) {
                    long offset = CompressedCluster.hostOffset(entry, clusterBits);
                    long length = CompressedCluster.storedLength(entry, clusterBits);
                    if (offset + length > fileClusters << clusterBits) {
                        corruption("ERROR " + what + ": compressed data past the end of the file");
                    } else {
                        reference(offset, length, false, what);
                        markCompressed(offset, length);
                    }
                    allocated++;
                    compressed++;
                    fragmented++;
                    continue;
                }
                long offset = entry & Tables.OFFSET_MASK;
                if ((entry & ~Tables.COPIED & ~Tables.OFFSET_MASK & ~Tables.ZERO) != 0 || (offset & (clusterSize - 1)) != 0) {
                    corruption("ERROR " + what + ": unaligned offset or reserved bits set");
                    continue;
                }
                if (offset == 0) {
                    continue;
                }
                if (placed(offset, clusterSize, what)) {
                    reference(offset, clusterSize, false, what);
                    l2Mapped.add(entry);
                    allocated++;
                    if (nextContiguous != 0 && offset != nextContiguous) {
                        fragmented++;
                    }
                    nextContiguous = offset + clusterSize;
                }
            }
        }
        return compare(refTable, guestClusters);
    }

    /** Compares computed with stored refcounts, and checks the COPIED flags of the L2 entries. */
    private Result compare(long[] refTable, long guestClusters) throws IOException {
        RefcountReader stored = new RefcountReader(file, header, refTable);
        List<Long> leakedClusters = new ArrayList<>();
        List<Long> leakedExpected = new ArrayList<>();
        long highest = -1;
        for (long c = 0; c < fileClusters; c++) {
            long count = stored.get(c);
            long want = expected[(int) c];
            if (count > 0 || want > 0) {
                highest = c;
            }
            if (count > want) {
                leakedClusters.add(c);
                leakedExpected.add(want);
                if (leakMessages.size() < MAX_MESSAGES) {
                    leakMessages.add("Leaked cluster " + c + " refcount=" + count + " reference=" + want);
                }
            } else if (count < want) {
                corruption("ERROR cluster " + c + " refcount=" + count + " reference=" + want);
            }
        }
        copiedFlags(stored, l1Mapped, "L2 cluster");
        copiedFlags(stored, l2Mapped, "data cluster");
        List<String> messages = new ArrayList<>(corruptionMessages);
        messages.addAll(leakMessages);
        return new Result(clusterSize, fileClusters, corruptions, leakedClusters.size(), List.copyOf(messages),
                leakedClusters.stream().mapToLong(Long::longValue).toArray(),
                leakedExpected.stream().mapToLong(Long::longValue).toArray(), allocated, guestClusters,
                fragmented, compressed, (highest + 1) * clusterSize, fixedByLeakRepair);
    }

    /** qcow2.txt: bit 63 (COPIED) is set exactly when the refcount is one. */
    private void copiedFlags(RefcountReader stored, List<Long> entries, String what) throws IOException {
        for (long entry : entries) {
            long host = (entry & Tables.OFFSET_MASK) >>> clusterBits;
            long count = stored.get(host);
            boolean copied = (entry & Tables.COPIED) != 0;
            if ((count == 1) != copied) {
                long repaired = host < fileClusters ? Math.min(count, expected[(int) host]) : count;
                if ((repaired == 1) == copied) {
                    fixedByLeakRepair++;
                }
                corruption("ERROR OFLAG_COPIED " + what + ": entry=0x" + Long.toHexString(entry) + " refcount=" + count);
            }
        }
    }

    /** Whether {@code [offset, offset+length)} is cluster aligned and inside the file; a corruption otherwise. */
    private boolean placed(long offset, long length, String what) {
        if ((offset & (clusterSize - 1)) != 0) {
            corruption("ERROR " + what + " at unaligned offset 0x" + Long.toHexString(offset));
            return false;
        }
        if (offset < 0 || length < 0 || offset + length > fileClusters << clusterBits) {
            corruption("ERROR " + what + " at 0x" + Long.toHexString(offset) + " lies past the end of the file");
            return false;
        }
        return true;
    }

    /** Counts a reference to each host cluster of the range; metadata may share a cluster with nothing else. */
    private void reference(long offset, long length, boolean metadata, String what) {
        for (long c = offset >>> clusterBits; c << clusterBits < offset + length; c++) {
            int i = (int) c;
            expected[i]++;
            if (metadata && use[i] != 0 || !metadata && use[i] == 1) {
                corruption("ERROR " + what + " overlaps metadata at host cluster " + c);
            }
            if (use[i] == 0 || metadata) {
                use[i] = (byte) (metadata ? 1 : 2);
            }
        }
    }

    private void markCompressed(long offset, long length) {
        for (long c = offset >>> clusterBits; c << clusterBits < offset + length; c++) {
            if (use[(int) c] == 2) {
                use[(int) c] = 3;
            }
        }
    }

    private void corruption(String message) {
        corruptions++;
        if (corruptionMessages.size() < MAX_MESSAGES) {
            corruptionMessages.add(message);
        }
    }

    private long[] readLongs(long offset, int count, String what) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(count * 8);
        file.read(offset, bytes, what);
        bytes.flip();
        long[] values = new long[count];
        bytes.asLongBuffer().get(values, 0, Math.min(count, bytes.remaining() / 8));
        return values;
    }

    /** Writes one refcount entry of any width; the block must exist. */
    private static void setRefcount(ImageFile file, Qcow2Header header, long cluster, long value) throws IOException {
        int bits = header.refcountBits();
        long perBlock = (header.clusterSize() * 8) / bits;
        long[] table = readTable(file, header);
        int t = (int) (cluster / perBlock);
        long block = t < table.length ? table[t] & Tables.OFFSET_MASK : 0;
        if (block == 0) {
            throw Qcow2Header.invalid(file.name() + ": no refcount block for cluster " + cluster);
        }
        long bitIndex = (cluster % perBlock) * bits;
        if (bits >= 8) {
            int bytes = bits / 8;
            ByteBuffer entry = ByteBuffer.allocate(bytes);
            for (int b = bytes - 1; b >= 0; b--) {
                entry.put(bytes - 1 - b, (byte) (value >>> (8 * b)));
            }
            file.write(block + bitIndex / 8, entry, "refcount block");
        } else {
            long at = block + bitIndex / 8;
            ByteBuffer one = ByteBuffer.allocate(1);
            file.read(at, one, "refcount block");
            int shift = (int) (bitIndex % 8);
            int mask = ((1 << bits) - 1) << shift;
            byte updated = (byte) ((one.get(0) & ~mask) | ((int) (value << shift) & mask));
            file.write(at, ByteBuffer.wrap(new byte[] {updated}), "refcount block");
        }
    }

    private static long[] readTable(ImageFile file, Qcow2Header header) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(header.refcountTableClusters() << header.clusterBits());
        file.read(header.refcountTableOffset(), bytes, "refcount table");
        bytes.flip();
        long[] table = new long[bytes.remaining() / 8];
        bytes.asLongBuffer().get(table);
        return table;
    }

    /** Stored refcounts of any width (qcow2.txt: refcount_order), a block at a time. */
    private static final class RefcountReader {
        private final ImageFile file;
        private final long[] table;
        private final int bits;
        private final long perBlock;
        private final long clusterSize;
        private final long fileEnd;
        private int loaded = -1;
        private byte[] block;

        RefcountReader(ImageFile file, Qcow2Header header, long[] table) throws IOException {
            this.file = file;
            this.table = table;
            this.bits = header.refcountBits();
            this.clusterSize = header.clusterSize();
            this.perBlock = clusterSize * 8 / bits;
            this.fileEnd = file.size();
        }

        long get(long cluster) throws IOException {
            int t = (int) (cluster / perBlock);
            if (t >= table.length) {
                return 0;
            }
            if (t != loaded) {
                long offset = table[t] & Tables.OFFSET_MASK;
                block = null;
                if (offset != 0 && (offset & (clusterSize - 1)) == 0 && offset + clusterSize <= fileEnd + clusterSize - 1) {
                    ByteBuffer bytes = ByteBuffer.allocate((int) clusterSize);
                    file.read(offset, bytes, "refcount block");
                    block = bytes.array();
                }
                loaded = t;
            }
            if (block == null) {
                return 0;
            }
            long bitIndex = (cluster % perBlock) * bits;
            int at = (int) (bitIndex / 8);
            if (bits >= 8) {
                long value = 0;
                for (int b = 0; b < bits / 8; b++) {
                    value = value << 8 | (block[at + b] & 0xff);
                }
                return value;
            }
            return (block[at] >>> (bitIndex % 8)) & ((1 << bits) - 1);
        }
    }
}
