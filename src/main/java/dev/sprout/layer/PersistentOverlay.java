package dev.sprout.layer;

import dev.sprout.backend.FileBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.format.qcow2.Qcow2Image;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * {@code cow:overlay=FILE.qcow2}: the copy-on-write overlay kept in a qcow2 image whose backing is
 * the device below the layer, so changes survive the server and the image alone serves the same
 * disk. The image is the layer: writes, zeroes and trims land in it, the device below is only read.
 */
final class PersistentOverlay {

    private PersistentOverlay() {
    }

    /** Opens or creates the overlay image over {@code in}; the image closes {@code in}. */
    static BlockDevice open(BlockDevice in, Path overlay) throws IOException {
        return Qcow2Image.openOverlay(overlay, in, lowerFile(in));
    }

    /** The file the device below reads, when it is a plain raw or qcow2 file. */
    private static Optional<Qcow2Image.Backing> lowerFile(BlockDevice in) throws IOException {
        return switch (in) {
            case FileBlockDevice file -> Optional.of(new Qcow2Image.Backing(file.path().toString(), "raw"));
            case Qcow2Image image -> Optional.of(new Qcow2Image.Backing(image.info().file().toString(), "qcow2"));
            default -> Optional.empty();
        };
    }
}
