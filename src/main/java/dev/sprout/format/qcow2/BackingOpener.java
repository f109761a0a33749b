package dev.sprout.format.qcow2;

import dev.sprout.block.BlockDevice;
import java.io.IOException;
import java.nio.file.Path;

/**
 * How the backing files an image names become devices. The format only reads headers and decides
 * the format; the caller (the command line, the tools) supplies the devices, so raw files are read
 * by the real file backend and qcow2 backing files by {@link Qcow2Image#open(Path, boolean, BackingOpener)}
 * with the same opener.
 */
@FunctionalInterface
public interface BackingOpener {

    /**
     * Opens the backing file at {@code path} (already resolved against the overlay's folder)
     * read-only, as {@code format}: "raw" or "qcow2". The image closes the device when it closes.
     */
    BlockDevice open(Path path, String format) throws IOException;

    /** Opens no backing file: an image that names one is refused at open. */
    BackingOpener NONE = (path, format) -> {
        throw new IOException("backing file " + path + " (" + format + ") cannot be opened here");
    };
}
