package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * ext4 on a sparse 2 GiB image served by the {@code file} backend, through nbdfuse and a loop
 * device; afterwards the image itself is checked, so every byte must have reached the file.
 */
class Ext4OnNbdfuseIT {

    private static final long MiB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void ext4OnAFileBackedDiskIsCleanAndHoldsItsFiles() throws Exception {
        Path image = dir.resolve("backing.img");
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.setLength(2L << 30);
        }
        Path mnt = Files.createDirectory(dir.resolve("mnt"));
        long seed = System.nanoTime();
        Path data = Files.createDirectory(dir.resolve("data"));
        Files.write(data.resolve("big"), FileTrees.randomBytes(32 << 20, seed));
        FileTrees.smallFiles(data.resolve("small"), 300, seed);

        try (NbdfuseDisk disk = NbdfuseDisk.start(dir, "file", image.toString())) {
            assertThat(disk.size()).isEqualTo(2L << 30);
            String loop = disk.attachLoop();
            Cmd.run(Duration.ofSeconds(60), "mkfs.ext4", "-q", loop).assertSuccess();

            disk.mount(mnt);
            Cmd.run("cp", "-a", data + "/.", mnt.toString()).assertSuccess();
            Files.write(mnt.resolve("scratch"), FileTrees.randomBytes(64 << 20, seed + 1));
            Cmd.run("sync", "-f", mnt.toString()).assertSuccess();
            FileTrees.assertSame(data, mnt, seed);
            long full = Cmd.allocatedBytes(image);
            assertThat(full).as("the image holds the files").isGreaterThan(96 * MiB);

            // fstrim -> loop discard -> FUSE punch hole -> NBD TRIM -> a hole in the image.
            Files.delete(mnt.resolve("scratch"));
            Cmd.run("sync", "-f", mnt.toString()).assertSuccess();
            Cmd.run(Duration.ofSeconds(60), "fstrim", mnt.toString()).assertSuccess();
            assertThat(full - Cmd.allocatedBytes(image)).as("bytes freed in the image by fstrim")
                    .isGreaterThanOrEqualTo(60 * MiB);
            disk.unmount();

            Cmd.run(Duration.ofSeconds(60), "e2fsck", "-f", "-n", loop).assertSuccess();
        }

        // nbdfuse and sprout are gone: the image alone must hold a clean file system and the files.
        Cmd.run(Duration.ofSeconds(60), "e2fsck", "-f", "-n", image.toString()).assertSuccess();
        Path out = dir.resolve("big.out");
        Cmd.run("debugfs", "-R", "dump /big " + out, image.toString()).assertSuccess();
        assertThat(Files.mismatch(data.resolve("big"), out)).as("/big read from the image (seed %d)", seed).isEqualTo(-1);
    }
}
