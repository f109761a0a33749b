package dev.sprout.format.qcow2;

import dev.sprout.block.BlockDevice;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Finds the backing file an image names (relative to the image's folder), decides its format, and
 * has the caller's {@link BackingOpener} open it read-only.
 */
final class BackingFile {

    /** The deepest chain opened; deeper ones are taken for a loop. */
    static final int MAX_DEPTH = 64;

    /**
     * How many backing files are above the image being opened: bound around the caller's opener,
     * which opens qcow2 backing files through {@link Qcow2Image#open} again on the same thread.
     */
    private static final ScopedValue<Integer> DEPTH = ScopedValue.newInstance();

    private BackingFile() {
    }

    /** The backing device of the image at {@code image}, or null when it has none. */
    static BlockDevice open(Path image, Qcow2Header header, BackingOpener opener) throws IOException {
        if (header.backingFile().isEmpty()) {
            return null;
        }
        Path path = resolve(image, header.backingFile().get());
        int depth = DEPTH.orElse(0);
        if (depth >= MAX_DEPTH) {
            throw Qcow2Header.invalid(image + ": backing chain deeper than " + MAX_DEPTH + " (a loop?) at " + path);
        }
        if (!Files.isRegularFile(path)) {
            throw new NoSuchFileException(path.toString(), null, "backing file of " + image + " not found");
        }
        String format = header.backingFormat().orElseGet(() -> detect(path));
        if (!format.equals("raw") && !format.equals("qcow2")) {
            throw Qcow2Header.invalid(image + ": backing format '" + format + "' of " + path
                    + " is not supported (raw and qcow2 are)");
        }
        BlockDevice device = ScopedValue.where(DEPTH, depth + 1).call(() -> opener.open(path, format));
        if (device.capabilities().writable()) {
            device.close();
            throw new IllegalStateException("backing file " + path + " was opened writable; backing files are read-only");
        }
        return device;
    }

    /** A backing file name as qemu reads it: relative names start at the image's folder. */
    static Path resolve(Path image, String name) {
        Path backing = Path.of(name);
        if (backing.isAbsolute()) {
            return backing;
        }
        Path folder = image.toAbsolutePath().getParent();
        return folder.resolve(backing).normalize();
    }

    /** "qcow2" when the file starts with the qcow2 magic, otherwise "raw". */
    static String detect(Path path) {
        return isQcow2(path) ? "qcow2" : "raw";
    }

    /** Whether the file at {@code path} starts with the qcow2 magic {@code QFI\xfb}. */
    static boolean isQcow2(Path path) {
        try (InputStream in = Files.newInputStream(path)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && (magic[0] & 0xff) == 'Q' && (magic[1] & 0xff) == 'F'
                    && (magic[2] & 0xff) == 'I' && (magic[3] & 0xff) == 0xfb;
        } catch (IOException e) {
            return false;
        }
    }
}
