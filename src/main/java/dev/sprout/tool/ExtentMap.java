package dev.sprout.tool;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** A device's whole allocation map, with neighbours of the same status merged. */
public final class ExtentMap {

    private ExtentMap() {
    }

    public static List<Extent> of(BlockDevice device) throws IOException {
        List<Extent> all = new ArrayList<>();
        long size = device.size();
        for (long at = 0; at < size; ) {
            for (Extent e : device.extents(at, size - at)) {
                if (!all.isEmpty() && all.getLast().joinsWith(e)) {
                    Extent last = all.removeLast();
                    e = last.withRange(last.offset(), last.length() + e.length());
                }
                all.add(e);
                at = e.end();
            }
        }
        return all;
    }

    /** "data", "zero" (allocated zeroes) or "hole". */
    public static String kind(Extent e) {
        return !e.zero() ? "data" : e.hole() ? "hole" : "zero";
    }

    /** Bytes not in holes. */
    public static long allocated(List<Extent> extents) {
        return extents.stream().filter(e -> !e.hole()).mapToLong(Extent::length).sum();
    }
}
