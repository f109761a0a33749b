package dev.sprout.cli;

import dev.sprout.block.ByteSize;
import dev.sprout.format.qcow2.Qcow2Image;
import dev.sprout.tool.ImageOpener;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;

/** {@code sprout create}: writes a new, empty qcow2 image, plain or as an overlay over a backing file. */
final class CreateCommand implements Callable<Integer> {

    String format = "qcow2";
    String backing;
    String backingFormat;
    String clusterSize = "64K";
    Path file;
    String size;
    private CommandSpec spec;

    CommandSpec declare() {
        spec = CommandDeclaration.command("create", this, "Create an empty qcow2 image (version 3, 16-bit refcounts),"
                        + " optionally over a read-only backing file.")
                .footer("", "Examples:", "  sprout create -f qcow2 disk.qcow2 100G",
                        "  sprout create -b base.img -F raw overlay.qcow2     (size taken from base.img)")
                .option("-f", "FORMAT", String.class, () -> format, v -> format = v, "Image format; only qcow2.")
                .option("-b", "BACKING", String.class, () -> backing, v -> backing = v,
                        "Backing file, stored as given; a relative name is relative to the image's folder.")
                .option("-F", "BACKING_FORMAT", String.class, () -> backingFormat, v -> backingFormat = v,
                        "raw or qcow2; detected from the file when omitted.")
                .option("-c --cluster-size", "SIZE", String.class, () -> clusterSize, v -> clusterSize = v,
                        "Cluster size, a power of two from 512 to 2M (default 64K).")
                .parameter(0, "FILE", Path.class, () -> file, v -> file = v, "The image to create; must not exist.")
                .optionalParameter(1, "SIZE", String.class, () -> size, v -> size = v,
                        "Virtual size (e.g. 100G); default: the backing file's.")
                .spec();
        return spec;
    }

    @Override
    public Integer call() throws IOException {
        if (!format.equals("qcow2")) {
            throw new IllegalArgumentException("format '" + format + "' cannot be created; only qcow2");
        }
        Optional<Qcow2Image.Backing> below = Optional.empty();
        long virtualSize;
        if (backing != null) {
            Path backingPath = resolve(backing);
            if (!Files.isRegularFile(backingPath)) {
                throw new IllegalArgumentException("backing file " + backingPath + " not found (a relative name is taken from "
                        + file.toAbsolutePath().getParent() + ")");
            }
            String detected = Qcow2Image.isQcow2(backingPath) ? "qcow2" : "raw";
            String chosen = backingFormat == null ? detected : backingFormat;
            if (!chosen.equals("raw") && !chosen.equals("qcow2")) {
                throw new IllegalArgumentException("backing format '" + chosen + "' is not supported (raw, qcow2)");
            }
            below = Optional.of(new Qcow2Image.Backing(backing, chosen));
            virtualSize = size != null ? ByteSize.parse(size) : backingSize(backingPath, chosen);
        } else if (size == null) {
            throw new IllegalArgumentException("give a SIZE (e.g. 100G), or a backing file with -b");
        } else {
            virtualSize = ByteSize.parse(size);
        }
        long cluster = ByteSize.parse(clusterSize);
        if (cluster > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("cluster size " + clusterSize + " above 2M");
        }
        Qcow2Image.create(file, virtualSize, below, (int) cluster);
        spec.commandLine().getOut().println("created " + file + ": qcow2, " + ByteSize.format(virtualSize)
                + below.map(b -> ", backing " + b.name() + " (" + b.format() + ")").orElse(""));
        spec.commandLine().getOut().flush();
        return 0;
    }

    private Path resolve(String name) {
        Path path = Path.of(name);
        return path.isAbsolute() ? path : file.toAbsolutePath().getParent().resolve(path).normalize();
    }

    private static long backingSize(Path path, String format) throws IOException {
        if (format.equals("qcow2")) {
            try (Qcow2Image image = Qcow2Image.open(path, true, ImageOpener.BACKING_FILES)) {
                return image.size();
            }
        }
        return Files.size(path);
    }
}
