package dev.sprout.format.qcow2;

import dev.sprout.block.DeviceException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.Lock;

/**
 * Writes changed metadata in the order that keeps the image consistent at every moment of a crash
 * (qcow2.txt: "Host cluster management"): data, then refcounts, then L2 tables, then L1, with a
 * force between each; only then are dropped clusters punched and their refcounts lowered. A crash
 * in between can leak clusters, never leave a mapping to a cluster that is free or unwritten.
 */
final class MetadataFlush {

    /** Byte 48 of the header: refcount_table_offset, followed by refcount_table_clusters. */
    private static final long REFCOUNT_TABLE_FIELDS = 48;

    private MetadataFlush() {
    }

    /** Makes everything written so far durable; {@code meta} guards the tables and refcounts. */
    static void run(ImageFile file, Tables tables, Refcounts refcounts, Lock meta, int clusterBits) throws IOException {
        List<Long> taken = new java.util.ArrayList<>();
        try {
            write(file, tables, refcounts, meta, clusterBits, taken);
        } catch (IOException | RuntimeException e) {
            meta.lock();
            try {
                tables.requeue();
                refcounts.requeue(taken);
            } finally {
                meta.unlock();
            }
            throw e;
        }
    }

    /** One flush; {@code taken} receives the frees it took until they are applied. */
    private static void write(ImageFile file, Tables tables, Refcounts refcounts, Lock meta, int clusterBits,
                              List<Long> taken) throws IOException {
        Refcounts.Dirty counts;
        Tables.Dirty mappings;
        List<Long> frees;
        meta.lock();
        try {
            counts = refcounts.takeDirty();
            mappings = tables.takeDirty();
            frees = refcounts.takeFrees();
            taken.addAll(frees);
        } finally {
            meta.unlock();
        }
        file.force();
        writeRefcounts(file, counts);
        if (!mappings.l2().isEmpty()) {
            writeAll(file, mappings.l2(), "l2");
            file.force();
        }
        if (mappings.l1() != null) {
            file.write(mappings.l1Offset(), mappings.l1(), "l1");
            file.force();
        }
        meta.lock();
        try {
            tables.written();
        } finally {
            meta.unlock();
        }
        if (frees.isEmpty()) {
            return;
        }
        List<Long> freed;
        meta.lock();
        try {
            freed = refcounts.clustersFreedBy(frees);
        } finally {
            meta.unlock();
        }
        for (long cluster : freed) {
            file.punch(cluster << clusterBits, 1L << clusterBits);
        }
        meta.lock();
        try {
            refcounts.applyFrees(frees);
            taken.clear();
            counts = refcounts.takeDirty();
        } finally {
            meta.unlock();
        }
        writeRefcounts(file, counts);
    }

    /** Blocks, then the table that points at new ones, then the header if the table moved. */
    private static void writeRefcounts(ImageFile file, Refcounts.Dirty counts) throws DeviceException {
        if (counts.blocks().isEmpty() && counts.table() == null) {
            return;
        }
        writeAll(file, counts.blocks(), "refcount block");
        file.force();
        if (counts.table() != null) {
            file.write(counts.tableOffset(), counts.table(), "refcount table");
            file.force();
        }
        if (counts.movedClusters() >= 0) {
            ByteBuffer fields = ByteBuffer.allocate(12).putLong(counts.tableOffset()).putInt(counts.movedClusters()).flip();
            file.write(REFCOUNT_TABLE_FIELDS, fields, "header");
            file.force();
        }
    }

    private static void writeAll(ImageFile file, Map<Long, ByteBuffer> writes, String what) throws DeviceException {
        for (Map.Entry<Long, ByteBuffer> e : writes.entrySet()) {
            file.write(e.getKey(), e.getValue(), what);
        }
    }
}
