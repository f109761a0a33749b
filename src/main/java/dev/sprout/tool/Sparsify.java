package dev.sprout.tool;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.block.ZeroFlags;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/** Turns the zero-filled blocks of a device's data into holes, in place. */
public final class Sparsify {

    /** Granularity of zero detection: a file system block. */
    static final int BLOCK = 4096;

    /** Bytes allocated before and after, and bytes found zero and punched. */
    public record Result(long allocatedBefore, long allocatedAfter, long punched) {
        public String line() {
            return "sparsified: " + Progress.human(punched) + " of zeroes punched, allocated " + Progress.human(allocatedBefore)
                    + " -> " + Progress.human(allocatedAfter) + " (" + (allocatedBefore - allocatedAfter) + " bytes won)";
        }
    }

    private Sparsify() {
    }

    public static Result inPlace(BlockDevice device, Progress progress) throws IOException {
        List<Extent> before = ExtentMap.of(device);
        long punched = 0;
        for (Extent extent : before) {
            if (extent.zero()) {
                progress.advance(extent.length());
                continue;
            }
            int n;
            for (long at = extent.offset(); at < extent.end(); at += n) {
                n = (int) Math.min(Copy.CHUNK, extent.end() - at);
                ByteBuffer buffer = ByteBuffer.allocate(n);
                device.read(at, buffer);
                punched += punchZeroRuns(device, buffer, at, n);
                progress.advance(n);
            }
        }
        device.flush();
        return new Result(ExtentMap.allocated(before), ExtentMap.allocated(ExtentMap.of(device)), punched);
    }

    /** Punches every run of whole zero blocks in the chunk read from {@code at}; returns the bytes punched. */
    private static long punchZeroRuns(BlockDevice device, ByteBuffer buffer, long at, int n) throws IOException {
        long punched = 0;
        int runStart = -1;
        for (int i = 0; ; i = Math.min(n, i + BLOCK)) {
            boolean zero = i < n && ZeroDetector.isZero(buffer, i, Math.min(n, i + BLOCK));
            if (zero && runStart < 0) {
                runStart = i;
            } else if (!zero && runStart >= 0) {
                int end = Math.min(n, i);
                device.zero(at + runStart, end - runStart, ZeroFlags.PUNCH);
                punched += end - runStart;
                runStart = -1;
            }
            if (i == n) {
                return punched;
            }
        }
    }
}
