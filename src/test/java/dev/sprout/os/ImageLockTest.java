package dev.sprout.os;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * QEMU-compatible image locks: writers exclude writers and still readers, readers share, locks go
 * with close; and qemu-io sees them (and sprout sees qemu-io's) on the same bytes.
 */
class ImageLockTest {

    @TempDir
    Path dir;

    private Path image;

    @BeforeEach
    void image() throws IOException {
        image = Files.write(dir.resolve("disk.img"), new byte[1 << 20]);
        try (ImageLock probe = ImageLock.forReader(image)) {
            assumeThat(probe.held()).as("OFD locks on this file system").isTrue();
        }
    }

    @Test
    void aSecondWriterIsRefusedNamingTheFile() throws IOException {
        try (ImageLock first = ImageLock.forWriter(image)) {
            assertThatThrownBy(() -> ImageLock.forWriter(image))
                    .hasMessageStartingWith(image + " is locked: another process (QEMU or sprout)")
                    .hasMessageContaining("write");
        }
        ImageLock.forWriter(image).close();
    }

    @Test
    void readersShareButExcludeWriters() throws IOException {
        try (ImageLock one = ImageLock.forReader(image); ImageLock two = ImageLock.forReader(image)) {
            assertThatThrownBy(() -> ImageLock.forWriter(image)).hasMessageContaining("does not allow others to write");
        }
        try (ImageLock writer = ImageLock.forWriter(image)) {
            assertThatThrownBy(() -> ImageLock.forReader(image)).hasMessageContaining("has it open for write");
        }
    }

    @Test
    void lockingAMissingFileNamesItAndEnoent() {
        Path missing = dir.resolve("missing.img");
        assertThatThrownBy(() -> ImageLock.forWriter(missing))
                .isInstanceOf(NativeException.class)
                .hasMessage("open(O_RDONLY) for locking on " + missing + ": No such file or directory (ENOENT)");
    }

    @Test
    void qemuSeesSproutsWriterLockAndItsReadersStillRead() throws Exception {
        try (ImageLock writer = ImageLock.forWriter(image)) {
            Result io = run("qemu-io", "-f", "raw", "-c", "write 0 4k", image.toString());
            assertThat(io.exit).as("%s", io.output).isNotZero();
            assertThat(io.output).contains("Failed to get \"write\" lock");
            // QEMU's raw readers share writing, so they still read.
            Result reader = run("qemu-io", "-r", "-f", "raw", "-c", "read 0 4k", image.toString());
            assertThat(reader.exit).as("%s", reader.output).isZero();
        }
        assertThat(run("qemu-io", "-f", "raw", "-c", "write 0 4k", image.toString()).exit).as("after close").isZero();
    }

    @Test
    void sproutSeesQemusWriterLock() throws Exception {
        // qemu-io holds the image open for writing while its sleep command runs.
        Process qemu = new ProcessBuilder("qemu-io", "-f", "raw", "-c", "sleep 20000", image.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try {
            awaitLocked();
            assertThatThrownBy(() -> ImageLock.forWriter(image)).hasMessageContaining("has it open for write");
            assertThatThrownBy(() -> ImageLock.forReader(image)).hasMessageContaining("has it open for write");
        } finally {
            qemu.destroy();
            qemu.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** Waits until /proc/locks shows an OFD lock on the image; probing with a lock of our own would stop qemu-io. */
    private void awaitLocked() throws IOException, InterruptedException {
        String inode = ":" + Files.getAttribute(image, "unix:ino") + " ";
        for (int i = 0; i < 200; i++) {
            if (Files.readAllLines(Path.of("/proc/locks")).stream().anyMatch(l -> l.contains("OFDLCK") && l.contains(inode))) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("qemu-io never locked " + image);
    }

    private record Result(int exit, String output) {
    }

    private static Result run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        return new Result(p.waitFor(), output);
    }
}
