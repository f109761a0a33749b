package dev.sprout.server;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Gathers a device's extents over a range into runs of distinct status, asking the device
 * again where its answer stopped short.
 */
final class ExtentWalk {

    /** Descriptors per BLOCK_STATUS reply; far below proto.md's 2^20 limit, ample for clients. */
    static final int MAX_DESCRIPTORS = 16 * 1024;

    private ExtentWalk() {
    }

    /**
     * Extents from {@code offset} within {@code length}: consecutive, merged where the status is
     * the same, at least one, at most {@code limit}. Devices without allocation information
     * report one data extent.
     */
    static List<Extent> collect(BlockDevice device, long offset, long length, int limit) throws IOException {
        List<Extent> runs = new ArrayList<>();
        if (!device.capabilities().extents()) {
            runs.add(Extent.data(offset, length));
            return runs;
        }
        long end = offset + length;
        long position = offset;
        while (position < end) {
            List<Extent> answer = device.extents(position, end - position);
            if (answer.isEmpty()) {
                throw new IOException(device + " returned no extents at " + position);
            }
            for (Extent extent : answer) {
                if (extent.offset() != position || extent.end() > end) {
                    throw new IOException(device + " returned extent " + extent + " for " + position + ".." + end);
                }
                Extent last = runs.isEmpty() ? null : runs.getLast();
                if (last != null && last.joinsWith(extent)) {
                    runs.set(runs.size() - 1, last.withRange(last.offset(), last.length() + extent.length()));
                } else if (runs.size() == limit) {
                    return runs;
                } else {
                    runs.add(extent);
                }
                position = extent.end();
            }
        }
        return runs;
    }
}
