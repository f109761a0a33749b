package dev.sprout.backend;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockDeviceContract;
import dev.sprout.os.NativeFile;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.OptionalLong;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.io.TempDir;

/** The block device contract over temporary files: writable, read-only, on tmpfs, without native calls. */
class FileBlockDeviceContractTest extends BlockDeviceContract {

    @TempDir
    Path dir;

    @Override
    protected BlockDevice newDevice(long size) throws IOException {
        return FileBlockDevice.open(Files.createTempDirectory(dir, "c").resolve("disk.img"), false, OptionalLong.of(size));
    }

    /** Read-only over a file of zeroes. */
    @Nested
    class ReadOnly extends BlockDeviceContract {

        @Override
        protected BlockDevice newDevice(long size) throws IOException {
            Path file = Files.createTempFile(dir, "ro", ".img");
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                raf.setLength(size);
            }
            return FileBlockDevice.open(file, true);
        }

        @Override
        protected boolean writable() {
            return false;
        }
    }

    /** On tmpfs, which cannot FALLOC_FL_ZERO_RANGE but can punch and allocate. */
    @Nested
    class OnTmpfs extends BlockDeviceContract {

        @Override
        protected BlockDevice newDevice(long size) throws IOException {
            Path shm = Path.of("/dev/shm");
            assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "no /dev/shm");
            Path file = Files.createTempFile(shm, "sprout-contract", ".img");
            file.toFile().deleteOnExit();
            Files.delete(file);
            return FileBlockDevice.open(file, false, OptionalLong.of(size));
        }
    }

    /** With every native call unsupported: zeroes written, trims ignored, everything data. */
    @Nested
    class WithoutNativeCalls extends BlockDeviceContract {

        @Override
        protected BlockDevice newDevice(long size) throws IOException {
            Path file = Files.createTempFile(dir, "plain", ".img");
            try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
                raf.setLength(size);
            }
            FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
            return new FileBlockDevice(file, channel, NativeFile.unsupported(file), false);
        }

        @Override
        protected boolean trimReadsZeroes() {
            return false;
        }
    }
}
