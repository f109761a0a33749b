package dev.sprout.backend;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockDeviceContract;
import dev.sprout.block.ForwardingBlockDevice;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.io.TempDir;

/**
 * The block device contract over real loop devices ({@code losetup}, so root only; skipped
 * otherwise), with 512-byte and 4 KiB logical blocks, writable and read-only.
 */
class HostBlockDeviceContractTest {

    @TempDir
    static Path dir;

    /**
     * The contract on a loop device: sizes are whole logical blocks, and a discard covers whole
     * logical blocks only, what they read afterwards being up to the device.
     */
    abstract class OnALoopDevice extends BlockDeviceContract {

        @Override
        protected boolean supportsUnalignedSize() {
            return false;
        }

        @Override
        protected boolean trimReadsZeroes() {
            return false;
        }
    }

    /** With 512-byte logical blocks. */
    @Nested
    class FiveHundredTwelveByteLogicalBlocks extends OnALoopDevice {

        @Override
        protected BlockDevice newDevice(long size) throws IOException {
            return loop(size, 512, false);
        }
    }

    /** With 4 KiB logical blocks: zeroing and discards align to them, the edges are written. */
    @Nested
    class FourKiBLogicalBlocks extends OnALoopDevice {

        @Override
        protected BlockDevice newDevice(long size) throws IOException {
            return loop(size, 4096, false);
        }
    }

    /** Opened read-only over a device of zeroes. */
    @Nested
    class ReadOnly extends OnALoopDevice {

        @Override
        protected BlockDevice newDevice(long size) throws IOException {
            return loop(size, 512, true);
        }

        @Override
        protected boolean writable() {
            return false;
        }
    }

    /** A loop device over a new sparse file of {@code size} bytes, opened as a device and detached on close. */
    private static BlockDevice loop(long size, int logicalBlock, boolean readOnly) throws IOException {
        assumeTrue(ProcessHandle.current().info().user().map("root"::equals).orElse(false), "loop devices need root");
        Path file = Files.createTempFile(dir, "loop", ".img");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(size);
        }
        String device = run("losetup", "-f", "--show", "-b", Integer.toString(logicalBlock), file.toString());
        try {
            return new Detaching(HostBlockDevice.open(Path.of(device), readOnly), device);
        } catch (IOException | RuntimeException e) {
            run("losetup", "-d", device);
            throw e;
        }
    }

    /** Detaches the loop device once the device on it is closed. */
    private static final class Detaching extends ForwardingBlockDevice {

        private final String loop;

        Detaching(BlockDevice in, String loop) {
            super(in);
            this.loop = loop;
        }

        @Override
        public void close() throws IOException {
            try {
                in.close();
            } finally {
                run("losetup", "-d", loop);
            }
        }
    }

    /** Runs a command and returns its output; fails on a non-zero exit. */
    private static String run(String... command) throws IOException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IOException(String.join(" ", command) + " failed: " + out);
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
