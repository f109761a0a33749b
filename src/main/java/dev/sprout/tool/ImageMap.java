package dev.sprout.tool;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.format.qcow2.ChainMap;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code sprout map} shows: for each range, whether it is data, allocated zeroes or a hole,
 * and which layer of a qcow2 backing chain it comes from, as {@code qemu-img map} reports it.
 * Raw files, devices and NBD exports are one layer, depth 0.
 */
public final class ImageMap {

    /**
     * One range of the map.
     *
     * @param extent  where, and whether data, allocated zeroes or a hole
     * @param depth   the layer it comes from: 0 the image, 1 its backing file, ...
     * @param present whether a layer holds it; false where it reads as zeroes because none does
     * @param file    the file (or URI) of that layer
     */
    public record Entry(Extent extent, int depth, boolean present, String file) {
    }

    private ImageMap() {
    }

    /** The whole map of the image or export {@code name}. */
    public static List<Entry> of(String name) throws IOException {
        if (ImageOpener.isQcow2(name)) {
            try (ChainMap chain = ChainMap.open(Path.of(name))) {
                return ofChain(chain);
            }
        }
        try (BlockDevice device = ImageOpener.open(name, true)) {
            List<Entry> entries = new ArrayList<>();
            for (Extent e : ExtentMap.of(device)) {
                // As qemu reports a raw file or NBD export: a hole that reads as zeroes is present.
                entries.add(new Entry(e, 0, !e.hole() || e.zero(), name));
            }
            return entries;
        }
    }

    private static List<Entry> ofChain(ChainMap chain) throws IOException {
        List<String> files = chain.files().stream().map(Path::toString).toList();
        List<Entry> entries = new ArrayList<>();
        long size = chain.size();
        for (long at = 0; at < size; ) {
            for (ChainMap.Run run : chain.runs(at, size - at)) {
                Entry next = new Entry(run.extent(), run.depth(), run.present(), files.get(run.depth()));
                if (!entries.isEmpty() && joins(entries.getLast(), next)) {
                    Entry last = entries.removeLast();
                    next = new Entry(last.extent().withRange(last.extent().offset(),
                            last.extent().length() + next.extent().length()), next.depth(), next.present(), next.file());
                }
                entries.add(next);
                at = run.extent().end();
            }
        }
        return entries;
    }

    private static boolean joins(Entry last, Entry next) {
        return last.extent().joinsWith(next.extent()) && last.depth() == next.depth() && last.present() == next.present();
    }

    /** One line per range: offset, length, kind, depth, and the layer's file ("-" where no layer holds it). */
    public static String text(List<Entry> entries) {
        StringBuilder out = new StringBuilder(String.format("%20s %20s  %-5s %5s  %s%n", "OFFSET", "LENGTH", "TYPE", "DEPTH", "FILE"));
        for (Entry e : entries) {
            out.append(String.format("%20d %20d  %-5s %5d  %s%n", e.extent().offset(), e.extent().length(),
                    ExtentMap.kind(e.extent()), e.depth(), e.present() ? e.file() : "-"));
        }
        return out.toString();
    }

    /**
     * The shape of {@code qemu-img map --output=json} (start, length, depth, present, zero, data),
     * plus hole (no space allocated) and the layer's file.
     */
    public static String json(List<Entry> entries) {
        List<Object> rows = new ArrayList<>();
        for (Entry e : entries) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("start", e.extent().offset());
            row.put("length", e.extent().length());
            row.put("depth", e.depth());
            row.put("present", e.present());
            row.put("zero", e.extent().zero());
            row.put("data", !e.extent().zero());
            row.put("hole", e.extent().hole());
            row.put("file", e.file());
            rows.add(row);
        }
        return JsonText.write(rows);
    }
}
