package dev.sprout.format.qcow2;

import dev.sprout.block.BlockDevice;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What {@code sprout info} shows about a qcow2 image.
 *
 * @param file           the image file
 * @param version        2 or 3
 * @param virtualSize    the disk size the guest sees
 * @param clusterSize    bytes per cluster
 * @param allocatedBytes guest bytes this image itself maps to data (not its backing chain)
 * @param fileBytes      the length of the image file
 * @param backingFile    the backing file name as stored
 * @param backingFormat  the backing format as stored, if it is
 * @param backingChain   the devices below, nearest first, e.g. {@code Qcow2(/a/mid.qcow2)}, {@code File(/a/base.img)}
 * @param externalBacking the device a cow layer supplied as backing when it made the image, for
 *                        an overlay that names no backing file (e.g. {@code Memory(1G)})
 * @param compressionType how compressed clusters are compressed, as qemu-img names it: "zlib" (deflate) or "zstd"
 * @param refcountBits    the refcount width
 * @param dirty           the dirty bit: refcounts may be stale (lazy refcounts, not closed cleanly)
 * @param corrupt         the corrupt bit: qemu found the metadata inconsistent
 * @param lazyRefcounts   the lazy refcounts compatible feature
 */
public record Qcow2Info(Path file, int version, long virtualSize, int clusterSize, long allocatedBytes,
                        long fileBytes, Optional<String> backingFile, Optional<String> backingFormat,
                        List<String> backingChain, Optional<String> externalBacking, String compressionType,
                        int refcountBits, boolean dirty, boolean corrupt, boolean lazyRefcounts) {

    static Qcow2Info of(Qcow2Image image, Qcow2Header header, Path path, BlockDevice backing) throws IOException {
        List<String> chain = new ArrayList<>();
        for (BlockDevice below = backing; below != null; below = below instanceof Qcow2Image q ? q.backing() : null) {
            chain.add(below.toString());
        }
        long fileBytes = java.nio.file.Files.size(path);
        return new Qcow2Info(path.toAbsolutePath(), header.version(), header.size(), (int) header.clusterSize(),
                image.mappedBytes(), fileBytes, header.backingFile(), header.backingFormat(), List.copyOf(chain),
                header.externalBacking(), header.compressionType() == 1 ? "zstd" : "zlib", header.refcountBits(),
                (header.incompatible() & Qcow2Header.DIRTY) != 0, (header.incompatible() & Qcow2Header.CORRUPT) != 0,
                (header.compatible() & Qcow2Header.LAZY_REFCOUNTS) != 0);
    }
}
