package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The seed demo: btrfs on a 7 EiB RAM disk, through nbdfuse (sprout on its stdin/stdout) and a
 * loop device.
 */
class BtrfsOnNbdfuseIT {

    @TempDir
    Path dir;

    @Test
    void btrfsOnASevenExbibyteMemoryDiskKeepsItsFiles() throws Exception {
        Path mnt = Files.createDirectory(dir.resolve("mnt"));
        long seed = System.nanoTime();
        Path data = Files.createDirectory(dir.resolve("data"));
        Files.write(data.resolve("big"), FileTrees.randomBytes(16 << 20, seed));
        FileTrees.smallFiles(data.resolve("small"), 200, seed);

        try (NbdfuseDisk disk = NbdfuseDisk.start(dir, "memory", "7E")) {
            assertThat(disk.size()).isEqualTo(7L << 60);
            String loop = disk.attachLoop();
            // -K: no discard of all 7 EiB first; that would take FUSE ~2 billion 4 GiB TRIMs.
            Cmd.run(Duration.ofSeconds(60), "mkfs.btrfs", "-q", "-K", loop).assertSuccess();

            disk.mount(mnt);
            Cmd.run("cp", "-a", data + "/.", mnt.toString()).assertSuccess();
            Cmd.run("sync", "-f", mnt.toString()).assertSuccess();
            FileTrees.assertSame(data, mnt, seed);
            disk.unmount();

            Cmd.Result check = Cmd.run(Duration.ofSeconds(60), "btrfs", "check", "--readonly", loop).assertSuccess();
            assertThat(check.stdout() + check.stderr()).contains("no error found");

            disk.mount(mnt);
            FileTrees.assertSame(data, mnt, seed);
            Cmd.Result df = Cmd.run("df", "-B1", "--output=size", mnt.toString()).assertSuccess();
            assertThat(Long.parseLong(df.stdout().lines().skip(1).findFirst().orElseThrow().strip()))
                    .as("btrfs's size").isGreaterThan(1L << 60);
            disk.unmount();
        }
    }
}
