package dev.sprout.format.qcow2;

import dev.sprout.block.BlockDevice;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Opens, or creates when missing, a qcow2 image as the persistent overlay of a cow layer: its
 * backing device is the one below the layer, whatever the image names. A new image records the
 * lower file as its backing file (so the image alone shows the same disk), or, when the device
 * below is no file, sprout's external-backing extension. An existing image must have the lower
 * device's size and must not name a different backing file.
 */
final class OverlayOpening {

    /** The cluster size of overlays the layer creates, qemu-img's default. */
    private static final int CLUSTER_SIZE = 64 << 10;

    private OverlayOpening() {
    }

    static Qcow2Image open(Path path, BlockDevice below, Optional<Qcow2Image.Backing> belowFile) throws IOException {
        if (Files.exists(path)) {
            check(path, below, belowFile);
        } else {
            Optional<Qcow2Image.Backing> named = belowFile.map(f -> new Qcow2Image.Backing(storedName(path, Path.of(f.name())), f.format()));
            Optional<String> external = belowFile.isPresent() ? Optional.empty() : Optional.of(below.toString());
            Qcow2Creation.create(path, below.size(), named, external, CLUSTER_SIZE);
        }
        return Qcow2Image.openWith(path, false, (image, header) -> below);
    }

    /** The backing name to record: the bare name beside the overlay, else the absolute path. */
    private static String storedName(Path overlay, Path file) {
        Path folder = overlay.toAbsolutePath().getParent();
        Path absolute = file.toAbsolutePath().normalize();
        return folder.equals(absolute.getParent()) ? absolute.getFileName().toString() : absolute.toString();
    }

    private static void check(Path path, BlockDevice below, Optional<Qcow2Image.Backing> belowFile) throws IOException {
        Qcow2Header header;
        try (ImageFile file = ImageFile.open(path, false)) {
            header = Qcow2Header.read(file.channel(), file.name());
        }
        if (header.size() != below.size()) {
            throw new IllegalArgumentException("overlay " + path + " is " + header.size() + " bytes but the device below ("
                    + below + ") is " + below.size() + "; an overlay must match the disk it was made over");
        }
        if (header.backingFile().isEmpty()) {
            return;
        }
        Path named = BackingFile.resolve(path, header.backingFile().get());
        if (belowFile.isEmpty()) {
            throw new IllegalArgumentException("overlay " + path + " names backing file " + named
                    + ", but the device below is " + below + ", not that file");
        }
        Path actual = Path.of(belowFile.get().name());
        if (!Files.exists(named) || !Files.isSameFile(named, actual)) {
            throw new IllegalArgumentException("overlay " + path + " names backing file " + named
                    + ", but the device below is " + actual.toAbsolutePath() + "; use the overlay over the file it was made over");
        }
    }
}
