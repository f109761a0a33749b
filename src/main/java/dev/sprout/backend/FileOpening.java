package dev.sprout.backend;

import dev.sprout.block.ByteSize;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.OptionalLong;

/** Checks, creates and extends the file behind a {@link FileBlockDevice}; every error names it. */
final class FileOpening {

    private FileOpening() {
    }

    /**
     * Ensures {@code path} is a regular file, of {@code size} bytes when given: creating it if
     * missing, extending it if smaller, refusing to shrink it.
     */
    static void prepare(Path path, boolean readOnly, OptionalLong size) throws IOException {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            if (size.isEmpty()) { // a read-only opening (copy's source, compare, info) cannot create one
                throw new NoSuchFileException(path.toString(), null,
                        readOnly ? "no such file" : "no such file (give size=SIZE to create it)");
            }
            if (readOnly) {
                throw new NoSuchFileException(path.toString(), null, "no such file, and a read-only export cannot create it");
            }
            setLength(path, size.getAsLong());
            return;
        } catch (AccessDeniedException e) {
            throw new AccessDeniedException(path.toString(), null, "permission denied");
        }
        if (attributes.isDirectory()) {
            throw new FileSystemException(path.toString(), null, "is a directory, not a disk image file");
        }
        if (!attributes.isRegularFile()) {
            throw new FileSystemException(path.toString(), null,
                    "is not a regular file (devices, pipes and sockets are not supported)");
        }
        if (size.isEmpty() || size.getAsLong() == attributes.size()) {
            return;
        }
        long current = attributes.size();
        long wanted = size.getAsLong();
        if (wanted < current) {
            throw new FileSystemException(path.toString(), null, "is " + bytes(current) + ", larger than size="
                    + ByteSize.format(wanted) + "; refusing to shrink it (remove size= to use it as it is)");
        }
        if (readOnly) {
            throw new FileSystemException(path.toString(), null, "is " + bytes(current)
                    + "; a read-only export cannot extend it to size=" + ByteSize.format(wanted));
        }
        setLength(path, wanted);
    }

    /** Opens the channel for the device's data. */
    static FileChannel channel(Path path, boolean readOnly) throws IOException {
        try {
            return readOnly
                    ? FileChannel.open(path, StandardOpenOption.READ)
                    : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (AccessDeniedException e) {
            throw new AccessDeniedException(path.toString(), null,
                    readOnly ? "permission denied" : "permission denied for reading and writing (export it read-only?)");
        } catch (FileSystemException e) {
            if (e.getReason() != null) {
                throw e;
            }
            throw new FileSystemException(path.toString(), null, "cannot open: " + e.getClass().getSimpleName());
        }
    }

    /** Creates or extends the file to {@code size} bytes without writing: ftruncate(2) leaves a hole. */
    private static void setLength(Path path, long size) throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
            file.setLength(size);
        } catch (IOException e) {
            throw new FileSystemException(path.toString(), null,
                    "cannot create or extend to " + bytes(size) + ": " + e.getMessage());
        }
    }

    /** A byte count for messages: exact, with the short form where there is one. */
    private static String bytes(long n) {
        String brief = ByteSize.format(n);
        return brief.equals(Long.toString(n)) ? n + " bytes" : n + " bytes (" + brief + ")";
    }
}
