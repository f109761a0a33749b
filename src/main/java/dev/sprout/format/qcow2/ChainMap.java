package dev.sprout.format.qcow2;

import dev.sprout.block.Closing;
import dev.sprout.block.Extent;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Which layer of a qcow2 backing chain each guest range reads from, as {@code qemu-img map}
 * reports it: depth 0 is the image itself, 1 its backing file, and so on. A range unallocated in a
 * layer is looked up in the layer below; one that no layer holds (unallocated all the way down, or
 * past the end of a shorter backing file) reads as zeroes and is not present, at the depth where
 * the search stopped. Opens every layer's metadata read-only on its own, apart from any open
 * {@link Qcow2Image}. Not thread-safe.
 */
public final class ChainMap implements Closeable {

    /** At most this many runs per answer; callers ask again from where it ended. */
    private static final int MAX_RUNS = 1024;

    /**
     * A range with one status.
     *
     * @param extent  where, and whether it is data, allocated zeroes or a hole (unallocated zeroes)
     * @param depth   the layer it comes from: 0 the image, 1 its backing file, ...
     * @param present whether that layer holds it (qemu's "present"); false where it reads as zeroes because no layer does
     */
    public record Run(Extent extent, int depth, boolean present) {

        /** Whether {@code next} continues this run with the same status. */
        boolean joinsWith(Run next) {
            return extent.joinsWith(next.extent) && depth == next.depth && present == next.present;
        }
    }

    /** The layers, top first; only the last may be raw. */
    private final List<Layer> layers;

    private ChainMap(List<Layer> layers) {
        this.layers = layers;
    }

    /** Opens the qcow2 image at {@code image} and its backing chain, read-only. */
    public static ChainMap open(Path image) throws IOException {
        List<Layer> layers = new ArrayList<>();
        try {
            Path path = image;
            Path shown = image;
            for (int depth = 0; path != null; depth++) {
                if (depth > BackingFile.MAX_DEPTH) {
                    throw Qcow2Header.invalid(image + ": backing chain deeper than " + BackingFile.MAX_DEPTH + " (a loop?)");
                }
                Qcow2Layer layer = Qcow2Layer.open(path, shown);
                layers.add(layer);
                path = null;
                if (layer.header().backingFile().isPresent()) {
                    String name = layer.header().backingFile().get();
                    Path below = BackingFile.resolve(layer.path(), name);
                    if (!Files.isRegularFile(below)) {
                        throw new NoSuchFileException(below.toString(), null, "backing file of " + layer.path() + " not found");
                    }
                    shown = shownName(shown, name);
                    String format = layer.header().backingFormat().orElseGet(() -> BackingFile.detect(below));
                    switch (format) {
                        case "qcow2" -> path = below;
                        case "raw" -> layers.add(RawLayer.open(below, shown));
                        default -> throw Qcow2Header.invalid(layer.path() + ": backing format '" + format
                                + "' of " + below + " is not supported (raw and qcow2 are)");
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            Closing.allAfter(e, layers);
            throw e;
        }
        return new ChainMap(List.copyOf(layers));
    }

    /** A backing file's name as qemu shows it: relative names joined to the folder of the image naming them. */
    private static Path shownName(Path image, String name) {
        Path backing = Path.of(name);
        return backing.isAbsolute() || image.getParent() == null ? backing : image.getParent().resolve(backing);
    }

    /** The layers' file names, top first, relative ones as qemu shows them (joined to the folder of the image naming them). */
    public List<Path> files() {
        return layers.stream().map(Layer::shown).toList();
    }

    /** The virtual size of the image. */
    public long size() {
        return layers.getFirst().size();
    }

    /**
     * The runs from {@code offset}: consecutive, starting exactly there, at least one, none past
     * {@code offset + length}, neighbours of equal status merged. They may cover less than
     * {@code length}; callers ask again from where the list ended.
     */
    public List<Run> runs(long offset, long length) throws IOException {
        List<Run> runs = new ArrayList<>();
        long end = offset + length;
        for (long at = offset; at < end && runs.size() < MAX_RUNS; ) {
            Run next = runAt(at, end);
            if (!runs.isEmpty() && runs.getLast().joinsWith(next)) {
                Run last = runs.removeLast();
                next = new Run(last.extent().withRange(last.extent().offset(), last.extent().length() + next.extent().length()),
                        next.depth(), next.present());
            }
            runs.add(next);
            at = next.extent().end();
        }
        return runs;
    }

    /** The status at {@code at}, descending the chain as qemu's block status does (block/io.c). */
    private Run runAt(long at, long end) throws IOException {
        long limit = end;
        for (int depth = 0; ; depth++) {
            Layer layer = layers.get(depth);
            Status status = layer.status(at, limit);
            limit = status.end();
            switch (status.kind()) {
                case DATA -> {
                    return new Run(Extent.data(at, limit - at), depth, true);
                }
                case ZERO -> {
                    return new Run(Extent.zeroes(at, limit - at), depth, true);
                }
                case HOLE -> {
                    return new Run(Extent.unallocated(at, limit - at), depth, true);
                }
                case UNALLOCATED -> {
                    if (depth + 1 == layers.size() || at >= layers.get(depth + 1).size()) {
                        return new Run(Extent.unallocated(at, limit - at), depth, false);
                    }
                    limit = Math.min(limit, layers.get(depth + 1).size());
                }
            }
        }
    }

    @Override
    public void close() throws IOException {
        Closing.all(layers);
    }

    /** How one layer holds a range. */
    enum Kind {
        /** Data (plain or compressed clusters, or a raw file's data). */
        DATA,
        /** Zeroes with host space behind them (a preallocated zero cluster). */
        ZERO,
        /** Zeroes without host space (a zero cluster, a raw file's hole). */
        HOLE,
        /** Not in this layer: ask the one below. */
        UNALLOCATED
    }

    /** A layer's status from some offset up to {@code end}. */
    record Status(Kind kind, long end) {
    }

    /** One file of the chain. */
    sealed interface Layer extends Closeable permits Qcow2Layer, RawLayer {

        /** The file name as shown. */
        Path shown();

        long size();

        /** The status at {@code at} and how far it goes, up to {@code end} (at most {@link #size()}). */
        Status status(long at, long end) throws IOException;
    }
}
