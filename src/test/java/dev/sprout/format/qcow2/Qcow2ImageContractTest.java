package dev.sprout.format.qcow2;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockDeviceContract;
import dev.sprout.tool.ImageOpener;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.io.TempDir;

/** The block device contract over fresh qcow2 images, and over overlays on raw and qcow2 bases. */
class Qcow2ImageContractTest extends BlockDeviceContract {

    @TempDir
    Path dir;

    @Override
    protected BlockDevice newDevice(long size) throws IOException {
        Path image = Files.createTempDirectory(dir, "c").resolve("disk.qcow2");
        Qcow2Image.create(image, size, Optional.empty(), 65536);
        return Qcow2Image.open(image, false, ImageOpener.BACKING_FILES);
    }

    /** 512-byte clusters: many L2 tables, and a refcount table that must grow. */
    @Nested
    class SmallClusters extends BlockDeviceContract {

        @Override
        protected BlockDevice newDevice(long size) throws IOException {
            Path image = Files.createTempDirectory(dir, "s").resolve("disk.qcow2");
            Qcow2Image.create(image, size, Optional.empty(), 512);
            return Qcow2Image.open(image, false, ImageOpener.BACKING_FILES);
        }
    }

    /** An overlay on a raw base where each 8-byte word holds its offset. */
    @Nested
    class OverlayOnRaw extends BlockDeviceContract {

        @Override
        protected BlockDevice newDevice(long size) throws IOException {
            Path folder = Files.createTempDirectory(dir, "o");
            patternFile(folder.resolve("base.img"), size);
            Path image = folder.resolve("overlay.qcow2");
            Qcow2Image.create(image, size, Optional.of(new Qcow2Image.Backing("base.img", "raw")), 4096);
            return Qcow2Image.open(image, false, ImageOpener.BACKING_FILES);
        }

        @Override
        protected boolean startsZeroed() {
            return false;
        }
    }

    /** An overlay on a qcow2 overlay on a shorter raw base, the middle one unnamed format (detected). */
    @Nested
    class OverlayOnQcow2 extends BlockDeviceContract {

        @Override
        protected BlockDevice newDevice(long size) throws IOException {
            Path folder = Files.createTempDirectory(dir, "q");
            patternFile(folder.resolve("base.img"), size / 2);
            Qcow2Image.create(folder.resolve("mid.qcow2"), size, Optional.of(new Qcow2Image.Backing("base.img", "raw")), 65536);
            try (BlockDevice mid = Qcow2Image.open(folder.resolve("mid.qcow2"), false, ImageOpener.BACKING_FILES)) {
                mid.write(size / 2 - 3, ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5, 6}), false);
            }
            Path image = folder.resolve("top.qcow2");
            Qcow2Image.create(image, size, Optional.of(new Qcow2Image.Backing("mid.qcow2", "qcow2")), 65536);
            return Qcow2Image.open(image, false, ImageOpener.BACKING_FILES);
        }

        @Override
        protected boolean startsZeroed() {
            return false;
        }
    }

    /** Read-only over a fresh image. */
    @Nested
    class ReadOnly extends BlockDeviceContract {

        @Override
        protected BlockDevice newDevice(long size) throws IOException {
            Path image = Files.createTempDirectory(dir, "r").resolve("disk.qcow2");
            Qcow2Image.create(image, size, Optional.empty(), 65536);
            return Qcow2Image.open(image, true, ImageOpener.BACKING_FILES);
        }

        @Override
        protected boolean writable() {
            return false;
        }
    }

    static void patternFile(Path file, long size) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = 0; at + 8 <= size; at += 8) {
            bytes.putLong(at, at);
        }
        Files.write(file, bytes.array());
    }
}
