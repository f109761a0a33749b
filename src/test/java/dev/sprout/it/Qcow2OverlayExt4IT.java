package dev.sprout.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * ext4 on a qcow2 overlay over a raw base image (issue 4, "A real filesystem"), through nbdfuse
 * and a loop device: 200 MiB of files written and synced grow the overlay's host file, deleting
 * them and running fstrim gives most of that space back; then e2fsck and qemu-img check are clean
 * and the base keeps every byte. Served as {@code serve overlay.qcow2} and as
 * {@code --layer cow:overlay=overlay.qcow2 file base.img}.
 */
class Qcow2OverlayExt4IT {

    private static final Duration SLOW = Duration.ofSeconds(180);
    private static final int MiB = 1 << 20;
    private static final int WRITTEN = 200 * MiB;

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"image", "layer"})
    void deletedFilesAndFstrimGiveTheOverlaysSpaceBack(String served) throws Exception {
        long seed = System.nanoTime();
        Path base = baseImage();
        String digest = FileTrees.sha256(base);
        Path overlay = dir.resolve("overlay.qcow2");
        String[] serveArgs = served.equals("image") ? new String[] {overlay.toString()}
                : new String[] {"--layer", "cow:overlay=" + overlay, "file", base.toString()};
        if (served.equals("image")) {
            Cmd.run(SproutServer.command("create", "-b", "base.img", "-F", "raw", overlay.toString())
                    .toArray(String[]::new)).assertSuccess();
        }
        Path mnt = Files.createDirectory(dir.resolve("mnt"));
        Path fuse = Files.createDirectory(dir.resolve("fuse"));
        long before;
        long full;
        long trimmed;
        try (NbdfuseDisk disk = NbdfuseDisk.start(fuse, serveArgs)) {
            assertThat(disk.size()).isEqualTo(512L * MiB);
            String loop = disk.attachLoop();
            disk.mount(mnt);
            Cmd.run("sync", "-f", mnt.toString()).assertSuccess();
            before = allocated(overlay);
            for (int i = 0; i < 4; i++) {
                Files.write(mnt.resolve("file" + i), FileTrees.randomBytes(WRITTEN / 4, seed + i));
            }
            Cmd.run("sync", "-f", mnt.toString()).assertSuccess();
            full = allocated(overlay);
            assertThat(full - before).as("the overlay grows by what was written (%d -> %d)", before, full)
                    .isGreaterThanOrEqualTo(WRITTEN);
            for (int i = 0; i < 4; i++) {
                Files.delete(mnt.resolve("file" + i));
            }
            Cmd.run("sync", "-f", mnt.toString()).assertSuccess();
            Cmd.run(SLOW, "fstrim", mnt.toString()).assertSuccess();
            Cmd.run("sync", "-f", mnt.toString()).assertSuccess();
            trimmed = allocated(overlay);
            disk.unmount();
            Cmd.run(SLOW, "e2fsck", "-f", "-n", loop).assertSuccess();
        }
        assertThat(full - trimmed).as("space given back by fstrim (allocated: %d before, %d full, %d trimmed)",
                before, full, trimmed).isGreaterThanOrEqualTo(WRITTEN * 9L / 10);

        Map<String, Object> check = Json.object(
                Cmd.run("qemu-img", "check", "--output=json", overlay.toString()).assertSuccess().stdout());
        assertThat(check).containsEntry("check-errors", 0L).doesNotContainKeys("corruptions", "leaks");
        assertThat(FileTrees.sha256(base)).as("the base image's bytes").isEqualTo(digest);
    }

    /** The overlay's allocated host bytes, as stat(1) reports its blocks. */
    private static long allocated(Path file) {
        String[] blocks = Cmd.run("stat", "-c", "%b %B", file.toString()).assertSuccess().stdout().strip().split(" ");
        return Long.parseLong(blocks[0]) * Long.parseLong(blocks[1]);
    }

    /** A 512 MiB sparse raw ext4 image. */
    private Path baseImage() throws IOException {
        Path base = dir.resolve("base.img");
        try (RandomAccessFile file = new RandomAccessFile(base.toFile(), "rw")) {
            file.setLength(512L * MiB);
        }
        Cmd.run(SLOW, "mkfs.ext4", "-q", base.toString()).assertSuccess();
        return base;
    }
}
