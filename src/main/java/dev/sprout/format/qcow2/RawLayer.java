package dev.sprout.format.qcow2;

import dev.sprout.format.qcow2.ChainMap.Kind;
import dev.sprout.format.qcow2.ChainMap.Status;
import dev.sprout.os.NativeException;
import dev.sprout.os.NativeFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A raw base of a {@link ChainMap}: data and holes as lseek(2) SEEK_DATA/SEEK_HOLE find them, all data without. */
final class RawLayer implements ChainMap.Layer {

    /** The file name as shown. */
    private final Path shown;
    /** Finds data and holes. */
    private final NativeFile file;
    /** The file size when opened. */
    private final long size;

    private RawLayer(Path shown, NativeFile file, long size) {
        this.shown = shown;
        this.file = file;
        this.size = size;
    }

    static RawLayer open(Path path, Path shown) throws IOException {
        long size = Files.size(path);
        return new RawLayer(shown, NativeFile.open(path, false), size);
    }

    @Override
    public Path shown() {
        return shown;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public Status status(long at, long end) throws IOException {
        try {
            long data = file.seekData(at);
            if (data < 0 || data > at) {
                return new Status(Kind.HOLE, data < 0 ? end : Math.min(end, data));
            }
            long hole = file.seekHole(at);
            return new Status(Kind.DATA, hole < 0 ? end : Math.min(end, hole));
        } catch (NativeException e) {
            if (!e.notSupported()) {
                throw e;
            }
            return new Status(Kind.DATA, end);
        }
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
