package dev.sprout.tool;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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

    /** One line per extent: offset, length, kind. */
    public static String text(List<Extent> extents) {
        StringBuilder out = new StringBuilder(String.format("%20s %20s  %s%n", "OFFSET", "LENGTH", "TYPE"));
        for (Extent e : extents) {
            out.append(String.format("%20d %20d  %s%n", e.offset(), e.length(), kind(e)));
        }
        return out.toString();
    }

    /** The shape of {@code qemu-img map --output=json}: start, length, data, zero, plus hole. */
    public static String json(List<Extent> extents) {
        List<Object> rows = new ArrayList<>();
        for (Extent e : extents) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("start", e.offset());
            row.put("length", e.length());
            row.put("data", !e.zero());
            row.put("zero", e.zero());
            row.put("hole", e.hole());
            rows.add(row);
        }
        return JsonText.write(rows);
    }

    /** Bytes not in holes. */
    public static long allocated(List<Extent> extents) {
        return extents.stream().filter(e -> !e.hole()).mapToLong(Extent::length).sum();
    }
}
