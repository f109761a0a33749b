package dev.sprout.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * ext4 through a copy-on-write overlay ({@code --layer cow file base.img}, nbdfuse, a loop
 * device): files written, deleted and trimmed, the whole disk discarded (reading zeroes after)
 * and a new file system made on top, all e2fsck-clean, while the base image keeps every byte and
 * its mtime.
 */
class CowExt4IT {

    private static final Duration SLOW = Duration.ofSeconds(120);

    @TempDir
    Path dir;

    /** {@code cow} in memory with 64 KiB blocks, and in a temporary file with 4 KiB blocks. */
    @ParameterizedTest
    @ValueSource(strings = {"cow", "cow:block=4K,tmp=TMP"})
    void writesLandInTheOverlayAndTheBaseImageStaysAsItWas(String layer) throws Exception {
        long seed = System.nanoTime();
        Path base = baseImage(seed);
        String digest = FileTrees.sha256(base);
        FileTime mtime = Files.getLastModifiedTime(base);
        Path tmp = Files.createDirectory(dir.resolve("tmp"));
        Path mnt = Files.createDirectory(dir.resolve("mnt"));
        Path data = Files.createDirectory(dir.resolve("data"));
        Files.write(data.resolve("big"), FileTrees.randomBytes(24 << 20, seed + 1));
        FileTrees.smallFiles(data.resolve("small"), 150, seed + 2);

        Path served = Files.createDirectory(dir.resolve("served"));
        try (NbdfuseDisk disk = NbdfuseDisk.start(served, "--layer", layer.replace("TMP", tmp.toString()),
                "file", base.toString())) {
            assertThat(disk.size()).isEqualTo(256L << 20);
            String loop = disk.attachLoop();
            disk.mount(mnt);
            assertThat(Files.readAllBytes(mnt.resolve("base/one"))).as("a file from the base")
                    .isEqualTo(FileTrees.randomBytes(3 << 20, seed));
            Cmd.run("cp", "-a", data + "/.", mnt.toString()).assertSuccess();
            Cmd.run("rm", "-r", mnt.resolve("base").toString()).assertSuccess();
            Files.write(mnt.resolve("scratch"), FileTrees.randomBytes(16 << 20, seed + 3));
            Cmd.run("sync", "-f", mnt.toString()).assertSuccess();
            Files.delete(mnt.resolve("scratch"));
            Cmd.run(SLOW, "fstrim", mnt.toString()).assertSuccess();
            disk.unmount();
            Cmd.run(SLOW, "e2fsck", "-f", "-n", loop).assertSuccess();

            disk.mount(mnt);
            FileTrees.assertSame(data, mnt, seed);
            assertThat(mnt.resolve("base")).as("deleted through the overlay").doesNotExist();
            disk.unmount();

            // Discarded blocks read as zeroes: none of the base image's data may fall through.
            Cmd.run(SLOW, "blkdiscard", loop).assertSuccess();
            Cmd.Result cmp = Cmd.run(SLOW, "cmp", "-n", Long.toString(256L << 20), loop, "/dev/zero");
            assertThat(cmp.exitCode()).as("the disk read back after blkdiscard: %s", cmp).isZero();

            // A new file system over the old one.
            Cmd.run(SLOW, "mkfs.ext4", "-q", "-F", loop).assertSuccess();
            disk.mount(mnt);
            Cmd.run("cp", "-a", data + "/.", mnt.toString()).assertSuccess();
            Cmd.run("sync", "-f", mnt.toString()).assertSuccess();
            disk.unmount();
            Cmd.run(SLOW, "e2fsck", "-f", "-n", loop).assertSuccess();
            disk.mount(mnt);
            FileTrees.assertSame(data, mnt, seed);
            disk.unmount();
        }

        assertThat(FileTrees.sha256(base)).as("the base image's bytes").isEqualTo(digest);
        assertThat(Files.getLastModifiedTime(base)).as("the base image's mtime").isEqualTo(mtime);
        try (var left = Files.list(tmp)) {
            assertThat(left).as("files left in tmp=").isEmpty();
        }
        Cmd.run(SLOW, "e2fsck", "-f", "-n", base.toString()).assertSuccess();
    }

    /** A 256 MiB sparse ext4 image holding base/one (3 MiB) and some small files, written through a loop mount. */
    private Path baseImage(long seed) throws IOException {
        Path base = dir.resolve("base.img");
        try (RandomAccessFile file = new RandomAccessFile(base.toFile(), "rw")) {
            file.setLength(256L << 20);
        }
        Cmd.run(SLOW, "mkfs.ext4", "-q", base.toString()).assertSuccess();
        Path mnt = Files.createDirectory(dir.resolve("base-mnt"));
        String loop = Cmd.run("losetup", "-f", "--show", base.toString()).assertSuccess().stdout().strip();
        try {
            Cmd.run("mount", loop, mnt.toString()).assertSuccess();
            try {
                Path folder = Files.createDirectory(mnt.resolve("base"));
                Files.write(folder.resolve("one"), FileTrees.randomBytes(3 << 20, seed));
                FileTrees.smallFiles(folder.resolve("small"), 50, seed);
            } finally {
                Cmd.run("umount", mnt.toString()).assertSuccess();
            }
        } finally {
            Cmd.run("losetup", "-d", loop).assertSuccess();
        }
        return base;
    }
}
