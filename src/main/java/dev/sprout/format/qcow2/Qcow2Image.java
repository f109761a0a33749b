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
import java.util.List;
import java.util.Optional;

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
    /** What unallocated clusters read from, null without a backing file. */
    private final BlockDevice backing;
    /** Tables, refcounts, allocation and flushes. */
    private final ClusterMap map;
    /** The read path. */
    private final ClusterReads reads;
    /** The write path. */
    private final ClusterWrites writes;
    /** Zeroing and trimming. */
    private final ClusterZeroing zeroing;
    /** Set by {@link #close}; every later operation fails. */
    private volatile boolean closed;

    private Qcow2Image(Path path, ImageFile file, Qcow2Header header, Tables tables, Refcounts refcounts,
                       BlockDevice backing) {
        this.path = path;
        this.file = file;
        this.header = header;
        this.backing = backing;
        this.map = new ClusterMap(file, header, tables, refcounts);
        ClusterLocks locks = new ClusterLocks();
        this.reads = new ClusterReads(file, header, map, locks, backing);
        this.writes = new ClusterWrites(file, header, map, locks, reads);
        this.zeroing = new ClusterZeroing(file, header, map, locks, writes, backing != null);
    }

    /**
     * Opens the image at {@code path}; its backing files, if it names any, are opened read-only by
     * {@code backings}. Refuses, naming the feature, what it cannot read correctly, and for writing
     * anything but a clean version 3 image with 16-bit refcounts and no internal snapshots.
     */
    public static Qcow2Image open(Path path, boolean readOnly, BackingOpener backings) throws IOException {
        return openWith(path, readOnly, (image, header) -> {
            if (!readOnly && header.externalBacking().isPresent()) {
                throw new IllegalArgumentException(image + ": its backing device is supplied by a cow layer (made over "
                        + header.externalBacking().get() + "); serve it with --layer cow:overlay=" + image
                        + " over that device");
            }
            return BackingFile.open(image, header, backings);
        });
    }

    /**
     * Opens the image at {@code path} for writing as a cow layer's persistent overlay over
     * {@code below}, creating it (as large as {@code below}) when it does not exist. {@code belowFile}
     * is the file {@code below} reads, if it is one: a new image records it as its backing file, and
     * an existing image must not name another. The image closes {@code below} when it closes.
     */
    public static Qcow2Image openOverlay(Path path, BlockDevice below, Optional<Backing> belowFile) throws IOException {
        return OverlayOpening.open(path, below, belowFile);
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
        image.map.capHostSize(maxSize);
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
                if ((header.incompatible() & Qcow2Header.DIRTY) != 0) {
                    header = RefcountRebuild.run(file, header);
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
        return map.mappedBytes();
    }

    @Override
    public long size() {
        return header.size();
    }

    /** Its own file is local; its backing device may not be (a cow layer may supply any). */
    @Override
    public boolean latencyBound() {
        return backing != null && backing.latencyBound();
    }

    @Override
    public Capabilities capabilities() {
        Capabilities all = new Capabilities(true, true, true, true, true, true, false, true, true, BlockSizes.DEFAULT);
        return map.writable() ? all : all.readOnly();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        ensureOpen();
        reads.read(offset, dst);
    }

    /** Reads at once when the host clusters (or the backing file's bytes) are in the page cache. */
    @Override
    public boolean readIfReady(long offset, ByteBuffer dst) throws IOException {
        ensureOpen();
        return reads.readIfReady(offset, dst);
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        ensureWritable("write");
        writes.write(offset, src);
        if (fua) {
            flush();
        }
    }

    @Override
    public void flush() throws IOException {
        ensureOpen();
        map.flush();
        if (!file.forcing()) { // a scratch image: the flush above forced nothing
            file.forceNow();
        }
    }

    /**
     * Writes this new image as a scratch file that matters only once complete, as a copy's
     * destination under a temporary name does: metadata flushes no longer force the data and each
     * table to the disk before the next (the order that keeps a crashed image consistent; closing
     * a copied 4 GiB image waited 1.1 s for it), as qemu-img convert does not. {@link #flush}
     * still makes everything durable.
     */
    public void scratch() {
        file.stopForcing();
    }

    /** Zeroes the range: whole clusters by their mapping, which frees their host space. */
    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        ensureWritable("trim");
        zeroing.zero(offset, length, false);
        if (fua) {
            flush();
        }
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws IOException {
        ensureWritable("zero");
        long mask = header.clusterSize() - 1;
        long end = offset + length;
        if (flags.fast() && ((offset & mask) != 0 || ((end & mask) != 0 && end != size()))) {
            throw RequestException.notFast(this);
        }
        zeroing.zero(offset, length, flags.noHole());
        if (flags.fua()) {
            flush();
        }
    }

    @Override
    public void cache(long offset, long length) throws IOException {
        ensureOpen();
    }

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        ensureOpen();
        return new ExtentScan(header, backing, reads::entry).scan(offset, length);
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        try (file; BlockDevice b = backing) {
            map.flush();
        } finally {
            closed = true;
        }
    }

    @Override
    public String toString() {
        return "Qcow2(" + path + ")";
    }

    private void ensureOpen() throws DeviceException {
        if (closed) {
            throw new DeviceException(Errno.ESHUTDOWN, this + " is closed");
        }
    }

    private void ensureWritable(String operation) throws IOException {
        ensureOpen();
        if (!map.writable()) {
            throw RequestException.readOnly(operation, this);
        }
    }
}
