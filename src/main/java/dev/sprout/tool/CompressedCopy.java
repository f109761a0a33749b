package dev.sprout.tool;

import dev.sprout.block.BlockDevice;
import dev.sprout.format.qcow2.CompressedImageWriter;
import dev.sprout.tool.ImageOpener.OutputFormat;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;

/**
 * {@code sprout copy --compress zstd|deflate -O qcow2 SRC DST}: a new qcow2 file with every data
 * cluster compressed, byte for byte the same for the same input (a read-only seed image).
 */
final class CompressedCopy {

    private CompressedCopy() {
    }

    /** Refuses, in one line, what --compress cannot write: anything but a new qcow2 file from an image. */
    static void check(String source, String destination, OutputFormat format) {
        if (format != OutputFormat.QCOW2) {
            throw new IllegalArgumentException("--compress writes qcow2 images only: add -O qcow2");
        }
        if (CopyJob.STREAM.equals(source)) {
            throw new IllegalArgumentException("--compress needs a source image or URI, not stdin");
        }
        if (CopyJob.STREAM.equals(destination) || ImageOpener.isUri(destination) || ImageOpener.isBlockDevice(destination)) {
            throw new IllegalArgumentException("--compress writes a new qcow2 file, not " + destination);
        }
    }

    /** Writes the compressed image of {@code from} to the new file {@code temporary}. */
    static Copy.Summary write(BlockDevice from, Path temporary, CopySettings settings, PrintStream progress)
            throws IOException {
        try (Progress bar = new Progress(from.size(), progress)) {
            CompressedImageWriter.Result result = CompressedImageWriter.write(from, temporary, settings.compression(),
                    settings.requestsOr(Integer.MAX_VALUE), settings.flush(), bar::advance);
            return new Copy.Summary(from.size(), result.dataBytes(), from.size() - result.dataBytes(), bar.seconds());
        }
    }
}
