package dev.sprout.tool;

import dev.sprout.backend.FileBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.format.qcow2.Qcow2Image;
import dev.sprout.tool.ImageOpener.OutputFormat;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * {@code sprout copy SRC DST}: opens both ends and runs the copy. A file destination is written
 * under a temporary name beside it and renamed over DST only once everything is written (and,
 * with {@code --flush}, flushed), so DST is never a half-written image; an NBD export, a block
 * device or stdout is written in place.
 *
 * @param source      image, URI or "-" for stdin
 * @param destination image path, URI or "-" for stdout
 * @param format      the format of a new file destination
 * @param partition   the partition of the source to extract, or null
 * @param settings    requests in flight, final flush, compression, connections
 * @param progress    where to draw a progress bar, or null
 */
public record CopyJob(String source, String destination, OutputFormat format, Integer partition, CopySettings settings,
                      PrintStream progress) {

    public static final String STREAM = "-";

    public Copy.Summary run(InputStream stdin, OutputStream stdout) throws IOException {
        if (settings.compression() != null) {
            CompressedCopy.check(source, destination, format);
        }
        if (STREAM.equals(source)) {
            if (partition != null) {
                throw new IllegalArgumentException("--partition needs a source image, not stdin");
            }
            return fromStdin(stdin);
        }
        try (BlockDevice from = ImageOpener.open(source, true, partition, settings.connections(), this::note)) {
            if (STREAM.equals(destination)) {
                if (format != OutputFormat.RAW) {
                    throw new IllegalArgumentException("stdout takes raw bytes only");
                }
                try (Progress bar = new Progress(from.size(), progress)) {
                    return StreamCopy.toStream(from, stdout, settings.requestsOr(Copy.READS_IN_FLIGHT), bar);
                }
            }
            if (ImageOpener.isUri(destination) || ImageOpener.isBlockDevice(destination)) {
                try (BlockDevice to = ImageOpener.open(destination, false, null,
                        settings.connectionsInto(destination, from), this::note);
                     Progress bar = new Progress(from.size(), progress)) {
                    return Copy.run(from, to, settings.options(false), bar);
                }
            }
            Path target = Path.of(destination);
            if (settings.compression() != null) {
                return intoNewFile(target, temporary -> CompressedCopy.write(from, temporary, settings, progress));
            }
            return intoNewFile(target, temporary -> {
                try (BlockDevice to = ImageOpener.create(temporary, format, from.size());
                     Progress bar = new Progress(from.size(), progress)) {
                    if (to instanceof FileBlockDevice file) {
                        file.writeBehind(); // written once, front to back
                    } else if (to instanceof Qcow2Image image) {
                        image.scratch(); // renamed into place only once complete
                    }
                    return Copy.run(from, to, settings.options(true), bar);
                }
            });
        }
    }

    private Copy.Summary fromStdin(InputStream stdin) throws IOException {
        if (ImageOpener.isUri(destination) || ImageOpener.isBlockDevice(destination)) {
            try (BlockDevice to = ImageOpener.open(destination, false); Progress bar = new Progress(to.size(), progress)) {
                return StreamCopy.fromStream(stdin, to, settings.targetIsZero(), bar);
            }
        }
        return intoNewFile(Path.of(destination),
                temporary -> StreamCopy.fromStreamToImage(stdin, temporary, format, settings.options(true), progress));
    }

    /** A remark for the user that does not stop the copy, on standard error. */
    private void note(String remark) {
        (progress != null ? progress : System.err).println("sprout: note: " + remark);
    }

    /** A step writing a complete image to the file it is given. */
    private interface FileWriter {
        Copy.Summary write(Path temporary) throws IOException;
    }

    /**
     * Writes the image under a temporary name beside {@code target} and renames it into place once
     * complete. The temporary file is removed when the copy fails, and also when the process is
     * stopped (Ctrl-C, SIGTERM), which skips the {@code finally}: it used to stay behind, hidden and
     * as large as what had been copied.
     */
    private static Copy.Summary intoNewFile(Path target, FileWriter writer) throws IOException {
        if (Files.exists(target) && !Files.isRegularFile(target)) {
            throw new IllegalArgumentException("destination " + target
                    + " exists and is neither a regular file nor a block device");
        }
        Path absolute = target.toAbsolutePath();
        try (TemporaryFile temporary = new TemporaryFile(
                absolute.resolveSibling("." + absolute.getFileName() + ".sprout-" + ProcessHandle.current().pid()))) {
            Copy.Summary summary = writer.write(temporary.path());
            temporary.publish(absolute);
            return summary;
        }
    }

    /**
     * A file written under a temporary name, removed unless published, even when the process is
     * stopped. Once stopped, it is never published: a copy from stdin whose producer was killed by
     * the same Ctrl-C sees its input end, and used to rename what it had into place as if complete.
     */
    private static final class TemporaryFile implements AutoCloseable {
        private final Path path;
        private final Thread removeOnExit;
        /** Set by the shutdown hook; guarded by {@code this}, so a rename is either done or never done. */
        private boolean stopped;

        TemporaryFile(Path path) throws IOException {
            this.path = path;
            Files.deleteIfExists(path);
            this.removeOnExit = new Thread(this::stop, "remove " + path.getFileName());
            Runtime.getRuntime().addShutdownHook(removeOnExit);
        }

        Path path() {
            return path;
        }

        /** Renames the file to {@code target}, replacing it, unless the process is being stopped. */
        synchronized void publish(Path target) throws IOException {
            if (stopped) {
                throw new InterruptedIOException("stopped by a signal; " + target + " was not written");
            }
            Files.move(path, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }

        private synchronized void stop() {
            stopped = true;
            try {
                Files.deleteIfExists(path);
            } catch (IOException e) {
                // the process is ending; nothing left to report it to
            }
        }

        @Override
        public void close() throws IOException {
            Files.deleteIfExists(path);
            try {
                Runtime.getRuntime().removeShutdownHook(removeOnExit);
            } catch (IllegalStateException e) {
                // already shutting down: the hook runs, and finds nothing left to remove
            }
        }
    }
}
