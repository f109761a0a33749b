package dev.sprout.tool;

import dev.sprout.backend.FileBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.block.PageAlignedBuffer;
import dev.sprout.block.ZeroDetector;
import dev.sprout.block.ZeroFlags;
import dev.sprout.format.qcow2.ChainMap;
import dev.sprout.format.qcow2.Qcow2Image;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the zero-filled blocks of an image's data into holes, in place: punched holes in a raw
 * file or device, zero clusters (freed, or flagged over a backing file) in a qcow2 image.
 */
public final class Sparsify {

    /** Granularity of zero detection where the image has no clusters: a file system block. */
    static final int BLOCK = 4096;

    /**
     * What sparsify did.
     *
     * @param zeroes          bytes found zero: punched, turned into zero clusters, or left as holes in a copy
     * @param how             what became of them, for the report: "punched", "left as holes"
     * @param allocatedBefore bytes the host file had allocated before, or -1 where there is no file to measure
     * @param allocatedAfter  and after
     */
    public record Result(long zeroes, String how, long allocatedBefore, long allocatedAfter) {

        /** Bytes given back to the host file system, or -1 when not measured. */
        public long won() {
            return allocatedBefore < 0 ? -1 : allocatedBefore - allocatedAfter;
        }

        /** The result for {@code --json}: bytes found zero, what became of them, allocation before and after (null where not measured). */
        public Map<String, Object> facts() {
            Map<String, Object> facts = new LinkedHashMap<>();
            facts.put("zero_bytes", zeroes);
            facts.put("zeroes", how);
            facts.put("allocated_before", allocatedBefore < 0 ? null : allocatedBefore);
            facts.put("allocated_after", allocatedBefore < 0 ? null : allocatedAfter);
            facts.put("bytes_won", allocatedBefore < 0 ? null : won());
            return facts;
        }

        public String line() {
            String line = "sparsified: " + Progress.human(zeroes) + " of zeroes " + how;
            return allocatedBefore < 0 ? line + " (space won not measurable here)"
                    : line + ", allocated " + Progress.human(allocatedBefore) + " -> " + Progress.human(allocatedAfter)
                    + " (" + won() + " bytes won)";
        }
    }

    private Sparsify() {
    }

    /**
     * Sparsifies the image or export {@code name} in place. A qcow2 image is looked at in whole
     * clusters, and only where the image itself holds data (never its backing files, which would
     * cost clusters in the image rather than free any); anything else in 4 KiB blocks.
     */
    public static Result inPlace(String name, Progress progress) throws IOException {
        long before = allocated(name);
        // A qcow2 image's own data is found before it is opened for writing, from its tables alone.
        List<Extent> own = ImageOpener.isQcow2(name) ? ownData(Path.of(name)) : null;
        long punched;
        try (BlockDevice device = ImageOpener.open(name, false)) {
            punched = device instanceof Qcow2Image qcow2
                    ? punch(device, own, qcow2.info().clusterSize(), progress)
                    : inPlace(device, progress).zeroes();
        }
        return new Result(punched, "punched", before, allocated(name));
    }

    /**
     * What a sparse copy of {@code image} into the new file {@code output} (made by
     * {@code sprout copy}, which writes zero blocks as holes) won: their host files compared.
     */
    public static Result copied(String image, String output, Copy.Summary copy) throws IOException {
        return new Result(copy.zeroBytes(), "left as holes", allocated(image), allocated(output));
    }

    /** The format a sparse copy of {@code image} keeps: qcow2 for a qcow2 image (its chain flattened), else raw. */
    public static ImageOpener.OutputFormat formatOf(String image) {
        return ImageOpener.isQcow2(image) ? ImageOpener.OutputFormat.QCOW2 : ImageOpener.OutputFormat.RAW;
    }

    /** Sparsifies the data extents of {@code device} in 4 KiB blocks; nothing is measured. */
    public static Result inPlace(BlockDevice device, Progress progress) throws IOException {
        List<Extent> data = ExtentMap.of(device).stream().filter(e -> !e.zero()).toList();
        return new Result(punch(device, data, BLOCK, progress), "punched", -1, -1);
    }

    /** The ranges a qcow2 image holds data for itself (depth 0 of its chain). */
    private static List<Extent> ownData(Path image) throws IOException {
        List<Extent> own = new ArrayList<>();
        try (ChainMap chain = ChainMap.open(image)) {
            for (long at = 0; at < chain.size(); ) {
                for (ChainMap.Run run : chain.runs(at, chain.size() - at)) {
                    if (run.depth() == 0 && !run.extent().zero()) {
                        own.add(run.extent());
                    }
                    at = run.extent().end();
                }
            }
        }
        return own;
    }

    /** Punches every run of whole, aligned, all-zero {@code block}s in {@code ranges}; returns the bytes punched. */
    private static long punch(BlockDevice device, List<Extent> ranges, int block, Progress progress) throws IOException {
        long punched = 0;
        // Chunks are aligned multiples of the block, so no block straddles two of them.
        long chunk = Math.max(Copy.CHUNK, block);
        ByteBuffer buffer = PageAlignedBuffer.allocate((int) chunk);
        for (Extent range : ranges) {
            int n;
            for (long at = range.offset(); at < range.end(); at += n) {
                n = (int) (Math.min(range.end(), (at / chunk + 1) * chunk) - at);
                device.read(at, buffer.clear().limit(n).duplicate());
                punched += punchZeroRuns(device, buffer, at, block);
                progress.advance(n);
            }
        }
        device.flush();
        return punched;
    }

    /**
     * Punches the runs of all-zero blocks (aligned to {@code block} on the device, or ending at its
     * end) in the bytes {@code buffer} holds from {@code at}; returns the bytes punched.
     */
    private static long punchZeroRuns(BlockDevice device, ByteBuffer buffer, long at, int block) throws IOException {
        int n = buffer.limit();
        long end = at + n;
        long punched = 0;
        long runStart = -1;
        for (long b = Math.ceilDiv(at, block) * block; ; b += block) {
            long blockEnd = Math.min(b + block, device.size());
            boolean whole = b < end && (blockEnd <= end);
            boolean zero = whole && ZeroDetector.isZero(buffer, (int) (b - at), (int) (blockEnd - at));
            if (zero && runStart < 0) {
                runStart = b;
            } else if (!zero && runStart >= 0) {
                device.zero(runStart, b - runStart, ZeroFlags.PUNCH);
                punched += b - runStart;
                runStart = -1;
            }
            if (!whole) {
                return punched;
            }
            if (blockEnd == device.size()) {
                if (runStart >= 0) {
                    device.zero(runStart, blockEnd - runStart, ZeroFlags.PUNCH);
                    punched += blockEnd - runStart;
                }
                return punched;
            }
        }
    }

    /** The bytes the host file of image {@code name} has allocated (what SEEK_DATA finds), or -1 when it is no regular file. */
    private static long allocated(String name) throws IOException {
        if (ImageOpener.isUri(name) || !Files.isRegularFile(Path.of(name))) {
            return -1;
        }
        try (BlockDevice host = FileBlockDevice.open(Path.of(name), true)) {
            return ExtentMap.allocated(ExtentMap.of(host));
        }
    }
}
