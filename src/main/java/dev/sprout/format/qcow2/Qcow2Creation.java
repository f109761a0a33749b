package dev.sprout.format.qcow2;

import dev.sprout.block.DeviceException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Writes new, empty version 3 images (qcow2.txt: "Header"): the header with its extensions and
 * the backing file name in cluster 0, then the refcount table, its blocks, and a zeroed L1 table,
 * every one of those clusters counted once.
 */
final class Qcow2Creation {

    /** Byte 88 of the header: autoclear_features. */
    private static final long AUTOCLEAR_FIELD = 88;

    private Qcow2Creation() {
    }

    static void create(Path path, long virtualSize, Optional<Qcow2Image.Backing> backing, int clusterSize)
            throws IOException {
        create(path, virtualSize, backing, Optional.empty(), clusterSize);
    }

    /**
     * As above; {@code external} describes a backing device supplied from outside the image (a cow
     * layer's lower device), recorded in sprout's header extension so {@code info} can say so.
     */
    static void create(Path path, long virtualSize, Optional<Qcow2Image.Backing> backing, Optional<String> external,
                       int clusterSize) throws IOException {
        if (Integer.bitCount(clusterSize) != 1 || clusterSize < 512 || clusterSize > (2 << 20)) {
            throw new IllegalArgumentException("cluster size " + clusterSize + " is not a power of two from 512 B to 2 MiB");
        }
        if (virtualSize < 0) {
            throw new IllegalArgumentException("virtual size " + virtualSize + " is negative");
        }
        int clusterBits = Integer.numberOfTrailingZeros(clusterSize);
        long l2Span = (long) clusterSize / 8 * clusterSize;
        long l1Size = Math.max(1, (virtualSize + l2Span - 1) / l2Span);
        if (l1Size * 8 > (32 << 20)) {
            throw new IllegalArgumentException("virtual size " + virtualSize + " needs an L1 table over 32 MiB; use larger clusters");
        }
        long l1Clusters = (l1Size * 8 + clusterSize - 1) / clusterSize;
        long blockEntries = clusterSize / 2;
        long tableClusters = 1;
        long blocks = 1;
        long total;
        while (true) {
            total = 1 + tableClusters + blocks + l1Clusters;
            long neededBlocks = (total + blockEntries - 1) / blockEntries;
            long neededTable = (neededBlocks * 8 + clusterSize - 1) / clusterSize;
            if (neededBlocks <= blocks && neededTable <= tableClusters) {
                break;
            }
            blocks = Math.max(blocks, neededBlocks);
            tableClusters = Math.max(tableClusters, neededTable);
        }
        long tableOffset = (long) clusterSize;
        long blocksOffset = tableOffset + tableClusters * clusterSize;
        long l1Offset = blocksOffset + blocks * clusterSize;

        ByteBuffer head = header(clusterBits, virtualSize, (int) l1Size, l1Offset, tableOffset, (int) tableClusters, backing,
                external, path);
        ByteBuffer table = ByteBuffer.allocate((int) (tableClusters * clusterSize));
        for (long b = 0; b < blocks; b++) {
            table.putLong((int) (b * 8), blocksOffset + b * clusterSize);
        }
        ByteBuffer counts = ByteBuffer.allocate((int) (blocks * clusterSize));
        for (long c = 0; c < total; c++) {
            counts.putShort((int) (c * 2), (short) 1);
        }
        if (java.nio.file.Files.exists(path)) {
            throw new FileAlreadyExistsException(path.toString(), null, "already exists; refusing to overwrite it");
        }
        try (ImageFile file = ImageFile.create(path)) {
            file.write(tableOffset, table, "refcount table");
            file.write(blocksOffset, counts, "refcount blocks");
            file.write(l1Offset, ByteBuffer.allocate((int) (l1Clusters * clusterSize)), "l1");
            file.write(0, head, "header");
            file.force();
        }
    }

    private static ByteBuffer header(int clusterBits, long size, int l1Size, long l1Offset, long tableOffset,
                                     int tableClusters, Optional<Qcow2Image.Backing> backing, Optional<String> external,
                                     Path path) {
        ByteBuffer head = ByteBuffer.allocate(1 << clusterBits);
        head.putInt(Qcow2Header.MAGIC).putInt(3).putLong(0).putInt(0).putInt(clusterBits).putLong(size)
                .putInt(0).putInt(l1Size).putLong(l1Offset).putLong(tableOffset).putInt(tableClusters)
                .putInt(0).putLong(0)
                .putLong(0).putLong(0).putLong(0).putInt(4).putInt(Qcow2Header.V3_LENGTH)
                .put(new byte[Qcow2Header.V3_LENGTH - 104]);
        try {
            if (backing.isPresent()) {
                byte[] format = backing.get().format().getBytes(StandardCharsets.UTF_8);
                head.putInt(Qcow2Header.EXT_BACKING_FORMAT).putInt(format.length).put(format)
                        .put(new byte[(8 - format.length % 8) % 8]);
            }
            if (external.isPresent()) {
                byte[] text = external.get().getBytes(StandardCharsets.UTF_8);
                head.putInt(Qcow2Header.EXT_EXTERNAL_BACKING).putInt(text.length).put(text)
                        .put(new byte[(8 - text.length % 8) % 8]);
            }
            head.putInt(Qcow2Header.EXT_END).putInt(0);
            if (backing.isPresent()) {
                byte[] name = backing.get().name().getBytes(StandardCharsets.UTF_8);
                if (name.length == 0 || name.length > 1023) {
                    throw new IllegalArgumentException("backing file name of " + name.length + " bytes (1..1023 allowed)");
                }
                head.putLong(8, head.position()).putInt(16, name.length).put(name);
            }
        } catch (java.nio.BufferOverflowException e) {
            throw new IllegalArgumentException(path + ": backing file name or description does not fit in a "
                    + (1 << clusterBits) + "-byte cluster");
        }
        return head.clear();
    }

    /** qcow2.txt: autoclear bits must be cleared before an image is written by one who does not maintain them. */
    static Qcow2Header clearAutoclear(ImageFile file, Qcow2Header h) throws DeviceException {
        if (h.autoclear() == 0) {
            return h;
        }
        file.write(AUTOCLEAR_FIELD, ByteBuffer.allocate(8), "header");
        file.force();
        return new Qcow2Header(h.version(), h.clusterBits(), h.size(), h.l1Size(), h.l1Offset(), h.refcountTableOffset(),
                h.refcountTableClusters(), h.snapshots(), h.incompatible(), h.compatible(), 0, h.refcountOrder(),
                h.headerLength(), h.compressionType(), h.backingFile(), h.backingFormat(), h.externalBacking());
    }
}
