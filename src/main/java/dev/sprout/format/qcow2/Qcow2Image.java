package dev.sprout.format.qcow2;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockSizes;
import dev.sprout.block.Capabilities;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.Extent;
import dev.sprout.block.RequestException;
import dev.sprout.block.ZeroFlags;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A qcow2 image as a block device (qemu's docs/interop/qcow2.txt): versions 2 and 3 read, with
 * zero and compressed clusters and backing files of any depth; version 3 with 16-bit refcounts
 * written, allocating clusters at the end of the file or in freed ones. Changed metadata is
 * written on {@link #flush()} (and FUA) in crash-safe order by {@link MetadataFlush}.
 */
public final class Qcow2Image implements BlockDevice {

    /** The file as given, for toString. */
    private final Path path;
    /** The host file. */
    private final ImageFile file;
    /** The header as opened. */
    private final Qcow2Header header;
    /** L1 and the L2 cache; guarded by {@link #meta}. */
    private final Tables tables;
    /** Refcounts and allocation, null when read-only; guarded by {@link #meta}. */
    private final Refcounts refcounts;
    /** What unallocated clusters read from, null without a backing file. */
    private final BlockDevice backing;
    /** Guards tables and refcounts; held only for in-memory work and cache misses. */
    private final ReentrantLock meta = new ReentrantLock();
    /** Serializes flushes, so their write orders never interleave. */
    private final ReentrantLock flushLock = new ReentrantLock();
    /** Per-guest-cluster locks: data I/O shares them, mapping changes take them exclusively. */
    private final ClusterLocks locks = new ClusterLocks();
    /** Set by {@link #close}; every later operation fails. */
    private volatile boolean closed;
    /** The cap on the host file's size in bytes (max-size=), 0 for none. */
    private long maxSize;
    /** L2 tables counted against max-size by writes that have not mapped their cluster yet; guarded by {@link #meta}. */
    private int reservedL2;

    private Qcow2Image(Path path, ImageFile file, Qcow2Header header, Tables tables, Refcounts refcounts,
                       BlockDevice backing) {
        this.path = path;
        this.file = file;
        this.header = header;
        this.tables = tables;
        this.refcounts = refcounts;
        this.backing = backing;
    }

    /**
     * Opens the image at {@code path}; its backing files, if it names any, are opened read-only by
     * {@code backings}. Refuses, naming the feature, what it cannot read correctly, and for writing
     * anything but a clean version 3 image with 16-bit refcounts and no internal snapshots.
     */
    public static Qcow2Image open(Path path, boolean readOnly, BackingOpener backings) throws IOException {
        return openWith(path, readOnly, (image, header) -> BackingFile.open(image, header, backings));
    }

    /** Opens an image that names no backing file ({@link BackingOpener#NONE}). */
    public static Qcow2Image open(Path path, boolean readOnly) throws IOException {
        return open(path, readOnly, BackingOpener.NONE);
    }

    /**
     * Opens the image for writing with its host file capped at {@code maxSize} bytes: a write that
     * would grow the file past it fails with ENOSPC before anything changes; clusters freed by
     * discards (once flushed) are written again within the cap.
     */
    public static Qcow2Image open(Path path, long maxSize, BackingOpener backings) throws IOException {
        if (maxSize <= 0) {
            throw new IllegalArgumentException("max-size must be above 0");
        }
        Qcow2Image image = open(path, false, backings);
        image.maxSize = maxSize;
        return image;
    }

    /** {@link #open(Path, long, BackingOpener)} for an image that names no backing file. */
    public static Qcow2Image open(Path path, long maxSize) throws IOException {
        return open(path, maxSize, BackingOpener.NONE);
    }

    /** Finds an image's backing device once its header is read; null for none. */
    @FunctionalInterface
    interface BackingSource {
        BlockDevice open(Path image, Qcow2Header header) throws IOException;
    }

    static Qcow2Image openWith(Path path, boolean readOnly, BackingSource backings) throws IOException {
        ImageFile file = ImageFile.open(path, !readOnly);
        BlockDevice backing = null;
        try {
            Qcow2Header header = Qcow2Header.read(file.channel(), file.name());
            if (!readOnly) {
                String refusal = header.writeRefusal();
                if (refusal != null) {
                    throw new RequestException(Errno.EPERM, file.name() + " " + refusal + "; sprout opens it read-only only");
                }
                header = Qcow2Creation.clearAutoclear(file, header);
            }
            Tables tables = new Tables(file, header);
            Refcounts refcounts = readOnly ? null : new Refcounts(file, header);
            backing = backings.open(path, header);
            return new Qcow2Image(path, file, header, tables, refcounts, backing);
        } catch (IOException | RuntimeException e) {
            try (file; BlockDevice b = backing) {
                throw e;
            }
        }
    }

    /**
     * Creates an empty version 3 image of {@code virtualSize} bytes with 16-bit refcounts, over
     * {@code backing} (its name as stored, relative to the image's folder, and its format) if given.
     */
    public static void create(Path path, long virtualSize, Optional<Backing> backing, int clusterSize) throws IOException {
        Qcow2Creation.create(path, virtualSize, backing, clusterSize);
    }

    /** Whether the file at {@code path} starts with the qcow2 magic. */
    public static boolean isQcow2(Path path) {
        return BackingFile.isQcow2(path);
    }

    /** A backing file as an overlay names it: a path as stored, and a format ("raw" or "qcow2"). */
    public record Backing(String name, String format) {
    }

    /** What {@code info} shows about this image and its backing chain. */
    public Qcow2Info info() throws IOException {
        return Qcow2Info.of(this, header, path, backing);
    }

    /** The device unallocated clusters read from, or null. */
    BlockDevice backing() {
        return backing;
    }

    long mappedBytes() throws IOException {
        meta.lock();
        try {
            return tables.dataClusters(header.version()) << header.clusterBits();
        } finally {
            meta.unlock();
        }
    }

    @Override
    public long size() {
        return header.size();
    }

    @Override
    public Capabilities capabilities() {
        Capabilities all = new Capabilities(true, true, true, true, true, true, false, true, true, BlockSizes.DEFAULT);
        return refcounts == null ? all.readOnly() : all;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        ensureOpen();
        long at = offset;
        int limit = dst.limit();
        try {
            while (dst.position() < limit) {
                long cluster = at >>> header.clusterBits();
                int within = (int) (at & (header.clusterSize() - 1));
                int n = (int) Math.min(limit - dst.position(), header.clusterSize() - within);
                dst.limit(dst.position() + n);
                locks.shared(cluster, () -> readPart(cluster, within, dst));
                at += n;
            }
        } finally {
            dst.limit(limit);
        }
    }

    /** Reads bytes of one guest cluster into {@code dst}; the caller holds its lock. */
    private void readPart(long cluster, int within, ByteBuffer dst) throws IOException {
        long entry = entry(cluster);
        long guest = (cluster << header.clusterBits()) + within;
        switch (ClusterEntry.kind(entry, header.version())) {
            case DATA -> file.read((entry & Tables.OFFSET_MASK) + within, dst, "data");
            case COMPRESSED -> dst.put(CompressedCluster.read(file, entry, header.clusterBits(), header.compressionType()),
                    within, dst.remaining());
            case ZERO -> fillZeroes(dst);
            case UNALLOCATED -> readBacking(guest, dst);
        }
    }

    private void readBacking(long guest, ByteBuffer dst) throws IOException {
        if (backing != null && guest < backing.size()) {
            int limit = dst.limit();
            dst.limit((int) Math.min(limit, dst.position() + backing.size() - guest));
            backing.read(guest, dst);
            dst.limit(limit);
        }
        fillZeroes(dst);
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        ensureWritable("write");
        long at = offset;
        int limit = src.limit();
        try {
            while (src.position() < limit) {
                long cluster = at >>> header.clusterBits();
                int within = (int) (at & (header.clusterSize() - 1));
                int n = (int) Math.min(limit - src.position(), header.clusterSize() - within);
                src.limit(src.position() + n);
                writePart(cluster, within, src);
                at += n;
            }
        } finally {
            src.limit(limit);
        }
        if (fua) {
            flush();
        }
    }

    /** Writes in place where the cluster is this image's alone, else copies it on write. */
    private void writePart(long cluster, int within, ByteBuffer src) throws IOException {
        boolean done = locks.sharedGet(cluster, () -> {
            long entry = entry(cluster);
            if (!ClusterEntry.writableInPlace(entry, header.version())) {
                return false;
            }
            file.write((entry & Tables.OFFSET_MASK) + within, src, "data");
            return true;
        });
        if (!done) {
            locks.exclusive(cluster, () -> copyOnWrite(cluster, within, src));
        }
    }

    /** Builds the whole new cluster, writes it to a cluster of its own, then maps it. */
    private void copyOnWrite(long cluster, int within, ByteBuffer src) throws IOException {
        long entry = entry(cluster);
        if (ClusterEntry.writableInPlace(entry, header.version())) {
            file.write((entry & Tables.OFFSET_MASK) + within, src, "data");
            return;
        }
        int clusterSize = (int) header.clusterSize();
        ByteBuffer whole = ByteBuffer.allocate(clusterSize);
        if (src.remaining() < clusterSize) {
            readPart(cluster, 0, whole);
            whole.clear();
        }
        whole.position(within);
        whole.put(src);
        whole.clear();
        boolean reuse = ClusterEntry.preallocatedZero(entry, header.version());
        long host;
        boolean reserved;
        meta.lock();
        try {
            reserved = checkQuota(cluster, reuse ? 0 : 1);
            host = reuse ? entry & Tables.OFFSET_MASK : refcounts.allocate();
        } finally {
            meta.unlock();
        }
        try {
            file.write(host, whole, "data");
            setEntry(cluster, host | Tables.COPIED, reuse ? 0 : entry);
        } finally {
            release(reserved);
        }
    }

    /**
     * Fails with ENOSPC when {@code dataClusters} more, an L2 table if missing, and the L2 tables
     * other writes still have to allocate would grow the file past max-size. Called under
     * {@link #meta}; returns whether it reserved an L2 table, to {@link #release} once mapped.
     */
    private boolean checkQuota(long cluster, int dataClusters) throws IOException {
        if (maxSize == 0) {
            return false;
        }
        boolean l2 = !tables.hasL2(cluster);
        int clusters = dataClusters + (l2 ? 1 : 0);
        if (clusters > 0 && refcounts.endAfter(clusters + reservedL2) << header.clusterBits() > maxSize) {
            throw new DeviceException(Errno.ENOSPC, file.name() + ": max-size " + maxSize
                    + " bytes reached; discard (trim) and flush to free space");
        }
        if (l2) {
            reservedL2++;
        }
        return l2;
    }

    private void release(boolean reserved) {
        if (reserved) {
            meta.lock();
            try {
                reservedL2--;
            } finally {
                meta.unlock();
            }
        }
    }

    /** Maps {@code cluster} to {@code entry}, dropping the host space {@code old} held. */
    private void setEntry(long cluster, long entry, long old) throws IOException {
        meta.lock();
        try {
            tables.set(cluster, entry, refcounts);
            ClusterEntry.release(old, header, refcounts);
        } finally {
            meta.unlock();
        }
    }

    @Override
    public void flush() throws IOException {
        ensureOpen();
        if (refcounts == null) {
            return;
        }
        flushLock.lock();
        try {
            MetadataFlush.run(file, tables, refcounts, meta, header.clusterBits());
        } finally {
            flushLock.unlock();
        }
    }

    /** Zeroes the range: whole clusters by their mapping, which frees their host space. */
    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        ensureWritable("trim");
        zeroRange(offset, length, fua);
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws IOException {
        ensureWritable("zero");
        long mask = header.clusterSize() - 1;
        long end = offset + length;
        if (flags.fast() && ((offset & mask) != 0 || ((end & mask) != 0 && end != size()))) {
            throw RequestException.notFast(this);
        }
        zeroRange(offset, length, flags.fua());
    }

    private void zeroRange(long offset, long length, boolean fua) throws IOException {
        long end = offset + length;
        long at = offset;
        while (at < end) {
            long cluster = at >>> header.clusterBits();
            long clusterStart = cluster << header.clusterBits();
            long clusterEnd = Math.min(clusterStart + header.clusterSize(), size());
            long n = Math.min(end, clusterEnd) - at;
            if (at == clusterStart && at + n == clusterEnd) {
                locks.exclusive(cluster, () -> unmap(cluster));
            } else {
                zeroPart(cluster, at, (int) n);
            }
            at += n;
        }
        if (fua) {
            flush();
        }
    }

    /** Makes a whole cluster read as zeroes: the zero flag over a backing file, else unallocated. */
    private void unmap(long cluster) throws IOException {
        long entry = entry(cluster);
        long wanted = backing != null ? Tables.ZERO : 0;
        if (entry != wanted) {
            meta.lock();
            try {
                boolean reserved = checkQuota(cluster, 0);
                try {
                    setEntry(cluster, wanted, entry);
                } finally {
                    release(reserved);
                }
            } finally {
                meta.unlock();
            }
        }
    }

    private void zeroPart(long cluster, long at, int n) throws IOException {
        long entry = entry(cluster);
        ClusterEntry.Kind kind = ClusterEntry.kind(entry, header.version());
        if (kind == ClusterEntry.Kind.ZERO || (kind == ClusterEntry.Kind.UNALLOCATED && backing == null)) {
            return;
        }
        writePart(cluster, (int) (at - (cluster << header.clusterBits())), ByteBuffer.allocate(n));
    }

    @Override
    public void cache(long offset, long length) throws IOException {
        ensureOpen();
    }

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        ensureOpen();
        return new ExtentScan(header, backing, this::entry).scan(offset, length);
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        try (file; BlockDevice b = backing) {
            if (refcounts != null) {
                flush();
            }
        } finally {
            closed = true;
        }
    }

    @Override
    public String toString() {
        return "Qcow2(" + path + ")";
    }

    private long entry(long cluster) throws IOException {
        meta.lock();
        try {
            return tables.entry(cluster);
        } finally {
            meta.unlock();
        }
    }

    private static void fillZeroes(ByteBuffer dst) {
        while (dst.hasRemaining()) {
            dst.put((byte) 0);
        }
    }

    private void ensureOpen() throws DeviceException {
        if (closed) {
            throw new DeviceException(Errno.ESHUTDOWN, this + " is closed");
        }
    }

    private void ensureWritable(String operation) throws IOException {
        ensureOpen();
        if (refcounts == null) {
            throw RequestException.readOnly(operation, this);
        }
    }
}
