package dev.sprout.tool;

import dev.sprout.backend.FileBlockDevice;
import dev.sprout.backend.HostBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.client.MultiConnectionDevice;
import dev.sprout.client.NbdBlockDevice;
import dev.sprout.client.NbdUri;
import dev.sprout.format.qcow2.BackingOpener;
import dev.sprout.format.qcow2.Qcow2Image;
import dev.sprout.layer.LayerCatalog;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.function.Consumer;

/**
 * The one place that decides how an image name becomes a device: an NBD URI, a qcow2 image
 * (detected by its magic, with its backing chain), a host block device, or a raw file.
 */
public final class ImageOpener {

    /**
     * Opens the backing files qcow2 images name: raw files by the file backend, read-only; qcow2
     * images with this opener again, so chains of any depth and mix.
     */
    public static final BackingOpener BACKING_FILES = ImageOpener::openBacking;

    private ImageOpener() {
    }

    private static BlockDevice openBacking(Path path, String format) throws IOException {
        return switch (format) {
            case "raw" -> FileBlockDevice.open(path, true);
            case "qcow2" -> Qcow2Image.open(path, true, BACKING_FILES);
            default -> throw new IOException("backing format '" + format + "' of " + path + " is not supported (raw, qcow2)");
        };
    }

    /** Whether {@code name} is an NBD URI rather than a path. */
    public static boolean isUri(String name) {
        return NbdUri.looksLike(name);
    }

    /** Whether {@code name} is a qcow2 image file (by its magic). */
    public static boolean isQcow2(String name) {
        if (isUri(name)) {
            return false;
        }
        Path path = Path.of(name);
        return Files.isRegularFile(path) && Qcow2Image.isQcow2(path);
    }

    /** Whether {@code name} is a host block device, written in place like an NBD export rather than replaced. */
    public static boolean isBlockDevice(String name) {
        return !isUri(name) && HostBlockDevice.isBlockDevice(Path.of(name));
    }

    /** Opens an existing image or export. */
    public static BlockDevice open(String name, boolean readOnly) throws IOException {
        if (isUri(name)) {
            return NbdBlockDevice.connect(name);
        }
        Path path = Path.of(name);
        if (Files.isRegularFile(path) && Qcow2Image.isQcow2(path)) {
            return Qcow2Image.open(path, readOnly, BACKING_FILES);
        }
        if (HostBlockDevice.isBlockDevice(path)) {
            return HostBlockDevice.open(path, readOnly);
        }
        return FileBlockDevice.open(path, readOnly);
    }

    /**
     * Opens an existing image or export read-only for {@code sprout info}: an NBD export is also
     * asked for every metadata context its server offers.
     */
    public static BlockDevice openToDescribe(String name) throws IOException {
        return isUri(name) ? NbdBlockDevice.connectListingContexts(name) : open(name, true);
    }

    /** Opens {@code name} and narrows it to partition {@code number} when one is given. */
    public static BlockDevice open(String name, boolean readOnly, Integer partition) throws IOException {
        return open(name, readOnly, partition, 1, note -> { });
    }

    /**
     * As {@link #open(String, boolean, Integer)}; an NBD export goes over {@code connections}
     * connections when its server advertises multi-conn, else over one, telling {@code notes}.
     */
    public static BlockDevice open(String name, boolean readOnly, Integer partition, int connections,
                                   Consumer<String> notes) throws IOException {
        BlockDevice device = isUri(name) ? MultiConnectionDevice.connect(name, connections, notes) : open(name, readOnly);
        if (partition == null) {
            return device;
        }
        try {
            return LayerCatalog.wrap("partition:number=" + partition, device);
        } catch (IOException | RuntimeException e) {
            device.close();
            throw e;
        }
    }

    /**
     * Creates a new, empty (all holes) image of {@code size} bytes at {@code path} (a qcow2 image:
     * rounded up to whole 512-byte sectors) and opens it.
     */
    public static BlockDevice create(Path path, OutputFormat format, long size) throws IOException {
        return switch (format) {
            case RAW -> FileBlockDevice.open(path, false, OptionalLong.of(size));
            case QCOW2 -> {
                // qemu reads a qcow2 virtual size in 512-byte sectors, so it is rounded up as qemu-img convert does.
                Qcow2Image.create(path, size % 512 == 0 ? size : Math.addExact(size, 512 - size % 512), java.util.Optional.empty(), 64 * 1024);
                yield Qcow2Image.open(path, false);
            }
        };
    }

    /** The formats a destination can be written in. */
    public enum OutputFormat {
        RAW, QCOW2
    }
}
