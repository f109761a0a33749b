package dev.sprout.cli;

import dev.sprout.backend.FileBlockDevice;
import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.backend.NullBlockDevice;
import dev.sprout.backend.PatternBlockDevice;
import dev.sprout.backend.ZeroBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.ByteSize;
import dev.sprout.format.qcow2.Qcow2Image;
import dev.sprout.layer.ReadOnlyDevice;
import dev.sprout.tool.ImageOpener;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;

/**
 * A backend as written on the command line, e.g. {@code memory 7E} or
 * {@code file disk.img size=10G}, turned into a device.
 */
record BackendSpec(String name, List<String> args) {

    static final String USAGE = """
            backends:
              memory SIZE               a sparse RAM disk (up to 2^63-1 bytes)
              file PATH [size=SIZE]     a file, kept sparse; size= creates or extends it
                                        (a qcow2 image is detected by its magic and served as qcow2)
              file PATH max-size=SIZE   a qcow2 image whose host file may not grow past SIZE (ENOSPC)
              PATH [max-size=SIZE]      an existing image file: qcow2 (detected) or raw
              null SIZE                 reads zeroes, writes vanish
              zero SIZE                 read-only zeroes
              pattern SIZE              read-only; each 8-byte word holds its own offset""";

    private static final String KNOWN = "memory, file, null, zero, pattern";

    static BackendSpec parse(List<String> words) {
        if (words.isEmpty()) {
            throw new IllegalArgumentException("no backend given; known backends: " + KNOWN + " (see serve --help)");
        }
        return new BackendSpec(words.getFirst(), List.copyOf(words.subList(1, words.size())));
    }

    /** Opens the device; {@code readOnly} opens files read-only and refuses all writes. */
    BlockDevice open(boolean readOnly) throws IOException {
        BlockDevice device = switch (name) {
            case "memory" -> MemoryBlockDevice.create(size());
            case "null" -> new NullBlockDevice(size());
            case "zero" -> new ZeroBlockDevice(size());
            case "pattern" -> new PatternBlockDevice(size());
            case "file" -> openFile(readOnly);
            default -> {
                // A bare image path: qcow2 when it starts with the magic, else a raw file.
                if (args.size() > 1 || !java.nio.file.Files.isRegularFile(Path.of(name))) {
                    throw new IllegalArgumentException("unknown backend '" + name + "'; known backends: " + KNOWN);
                }
                if (args.size() == 1) {
                    yield openCapped(Path.of(name), args.getFirst(), readOnly);
                }
                yield Qcow2Image.isQcow2(Path.of(name)) ? Qcow2Image.open(Path.of(name), readOnly, ImageOpener.BACKING_FILES)
                        : FileBlockDevice.open(Path.of(name), readOnly);
            }
        };
        return readOnly && device.capabilities().writable() ? new ReadOnlyDevice(device) : device;
    }

    private long size() {
        if (args.size() != 1) {
            throw new IllegalArgumentException("backend '" + name + "' takes one argument, SIZE (e.g. 1G, 7E)");
        }
        return positive(ByteSize.parse(args.getFirst()));
    }

    private BlockDevice openFile(boolean readOnly) throws IOException {
        if (args.isEmpty() || args.size() > 2) {
            throw new IllegalArgumentException("backend 'file' takes PATH [size=SIZE]");
        }
        OptionalLong size = OptionalLong.empty();
        if (args.size() == 2) {
            String option = args.get(1);
            if (option.startsWith("max-size=")) {
                return openCapped(Path.of(args.getFirst()), option, readOnly);
            }
            if (!option.startsWith("size=")) {
                throw new IllegalArgumentException("unknown file parameter '" + option
                        + "': accepted are size=SIZE and, for qcow2, max-size=SIZE");
            }
            size = OptionalLong.of(positive(ByteSize.parse(option.substring("size=".length()))));
        }
        Path path = Path.of(args.getFirst());
        if (size.isEmpty() && Qcow2Image.isQcow2(path)) {
            return Qcow2Image.open(path, readOnly, ImageOpener.BACKING_FILES);
        }
        return FileBlockDevice.open(path, readOnly, size);
    }

    /** A qcow2 image with {@code max-size=SIZE}: its host file is capped at SIZE bytes. */
    private static BlockDevice openCapped(Path path, String option, boolean readOnly) throws IOException {
        if (!option.startsWith("max-size=")) {
            throw new IllegalArgumentException("unknown image parameter '" + option + "': accepted is max-size=SIZE");
        }
        if (!Qcow2Image.isQcow2(path)) {
            throw new IllegalArgumentException("max-size= caps qcow2 images only; " + path + " is not qcow2");
        }
        long cap = ByteSize.parse(option.substring("max-size=".length()));
        if (cap <= 0) {
            throw new IllegalArgumentException("max-size needs a size above 0");
        }
        return readOnly ? Qcow2Image.open(path, true, ImageOpener.BACKING_FILES)
                : Qcow2Image.open(path, cap, ImageOpener.BACKING_FILES);
    }

    private long positive(long size) {
        if (size <= 0) {
            throw new IllegalArgumentException("backend '" + name + "' needs a size above 0");
        }
        return size;
    }
}
