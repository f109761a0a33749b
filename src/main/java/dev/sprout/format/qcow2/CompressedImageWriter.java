package dev.sprout.format.qcow2;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.block.PageAlignedBuffer;
import dev.sprout.os.SerialWrites;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.LongConsumer;

/**
 * Writes a new qcow2 image of a device with every data cluster compressed: a read-only seed image.
 * The same input always gives the same bytes. Clusters are read and compressed in batches, up to
 * {@code parallel} at a time (at most {@link #BATCHES_PER_CORE} per core), but placed in guest
 * offset order whatever order they finish in: cluster 0 holds the header, then comes the data,
 * compressed clusters packed byte after byte (as QEMU packs them), a cluster that does not shrink
 * stored whole at the next cluster boundary, then the tables ({@link CompressedImageMetadata}).
 * Holes and all-zero clusters are left unallocated.
 */
public final class CompressedImageWriter {

    /** 64 KiB, QEMU's default. */
    private static final int CLUSTER_BITS = 16;
    private static final int CLUSTER = 1 << CLUSTER_BITS;
    /** Clusters read and compressed by one task. */
    private static final int BATCH = 16;
    /**
     * Batches in flight per core at most, whatever {@code parallel} asks: compressing is CPU-bound,
     * and more only hold memory. With copy's 64 (64 MiB of batches and their copies) a 4 GiB image
     * with 2 GiB of data grew the JVM to 2.2 GB and took 5.1 s on 2 cores; with 4 it stays at
     * 185 MB and takes 2.3-2.7 s (qemu-img convert -c: 4.1-5.3 s).
     */
    private static final int BATCHES_PER_CORE = 2;
    private static final byte[] ZEROES = new byte[CLUSTER];

    /** Guest bytes stored (in non-zero clusters) and the size of the image file written. */
    public record Result(long dataBytes, long fileBytes) {
    }

    /** One batch's clusters: compressed bytes, the raw cluster when it did not shrink, null when zero. */
    private record Batch(long firstCluster, byte[][] compressed, byte[][] raw) {
    }

    private final BlockDevice source;
    private final Qcow2Compression compression;
    private final long size;
    private final CompressedImageMetadata metadata;
    private final FileChannel file;
    /**
     * Data not yet written, in order. Direct: a heap buffer went through the JDK's temporary direct
     * buffer on every write, and the kernel took 3 s to copy 2 GiB in from it.
     */
    private final ByteBuffer pending = PageAlignedBuffer.allocate(4 << 20);
    /** Where the next byte of data goes in the file. */
    private long position = CLUSTER;
    private long dataBytes;

    private CompressedImageWriter(BlockDevice source, Qcow2Compression compression, FileChannel file) {
        this.source = source;
        this.compression = compression;
        this.size = (source.size() + 511) & -512L; // whole sectors, as qemu-img convert rounds
        this.metadata = new CompressedImageMetadata(CLUSTER_BITS, size, compression);
        this.file = file;
    }

    /**
     * Writes the image of {@code source} to the new file {@code path}, reporting guest bytes done
     * to {@code progress}; with {@code flush} the file is on disk when this returns.
     */
    public static Result write(BlockDevice source, Path path, Qcow2Compression compression, int parallel, boolean flush,
                               LongConsumer progress) throws IOException {
        try (FileChannel file = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            CompressedImageWriter writer = new CompressedImageWriter(source, compression, file);
            int cores = Runtime.getRuntime().availableProcessors();
            writer.copy(Math.clamp(parallel, 1, BATCHES_PER_CORE * cores), progress);
            writer.drain();
            long end = writer.metadata.write(file, (writer.position + CLUSTER - 1) & -(long) CLUSTER);
            if (flush) {
                file.force(true);
            }
            return new Result(writer.dataBytes, end);
        }
    }

    private void copy(int parallel, LongConsumer progress) throws IOException {
        ArrayDeque<Future<Batch>> window = new ArrayDeque<>();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            long next = 0; // the first cluster not yet submitted
            long sourceSize = source.size();
            for (long at = 0; at < sourceSize; ) {
                for (Extent extent : source.extents(at, sourceSize - at)) {
                    if (extent.zero()) {
                        progress.accept(extent.length());
                    } else {
                        long first = Math.max(next, extent.offset() >> CLUSTER_BITS);
                        long end = ((extent.end() - 1) >> CLUSTER_BITS) + 1;
                        for (long c = first; c < end; c += BATCH) {
                            long batch = c;
                            int count = (int) Math.min(BATCH, end - c);
                            window.add(threads.submit(() -> read(batch, count)));
                            if (window.size() >= parallel) {
                                place(await(window.poll()), progress);
                            }
                        }
                        next = Math.max(next, end);
                    }
                    at = extent.end();
                }
            }
            while (!window.isEmpty()) {
                place(await(window.poll()), progress);
            }
        } finally {
            window.forEach(f -> f.cancel(true));
        }
    }

    /** Reads {@code count} clusters from {@code first} and compresses each that is not all zeroes. */
    private Batch read(long first, int count) throws IOException {
        long offset = first << CLUSTER_BITS;
        ByteBuffer bytes = ByteBuffer.allocate(count * CLUSTER);
        source.read(offset, bytes.limit((int) Math.min(bytes.capacity(), source.size() - offset)));
        byte[][] compressed = new byte[count][];
        byte[][] raw = new byte[count][];
        for (int i = 0; i < count; i++) {
            int from = i * CLUSTER;
            if (Arrays.equals(bytes.array(), from, from + CLUSTER, ZEROES, 0, CLUSTER)) {
                continue;
            }
            byte[] cluster = Arrays.copyOfRange(bytes.array(), from, from + CLUSTER);
            compressed[i] = compression.compress(cluster);
            raw[i] = compressed[i] == null ? cluster : null;
        }
        return new Batch(first, compressed, raw);
    }

    /** Appends a batch's clusters at the end of the data and maps them. */
    private void place(Batch batch, LongConsumer progress) throws IOException {
        for (int i = 0; i < batch.compressed().length; i++) {
            long cluster = batch.firstCluster() + i;
            if (batch.compressed()[i] != null) {
                metadata.mapCompressed(cluster, position, batch.compressed()[i].length);
                append(batch.compressed()[i]);
            } else if (batch.raw()[i] != null) {
                append(new byte[(int) (-position & (CLUSTER - 1))]);
                metadata.mapRaw(cluster, position);
                append(batch.raw()[i]);
            } else {
                continue;
            }
            dataBytes += CLUSTER;
        }
        progress.accept((long) batch.compressed().length * CLUSTER);
    }

    private void append(byte[] bytes) throws IOException {
        if (pending.remaining() < bytes.length) {
            drain();
        }
        pending.put(bytes);
        position += bytes.length;
    }

    private void drain() throws IOException {
        pending.flip();
        SerialWrites.writeAll(file, position - pending.remaining(), pending);
        pending.clear();
    }

    private static Batch await(Future<Batch> batch) throws IOException {
        try {
            return batch.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("compressing interrupted");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IOException(e.getCause());
        }
    }
}
