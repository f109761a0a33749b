package dev.sprout.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Image locking compatible with QEMU's: a writable sprout server holds QEMU's lock bytes on its
 * qcow2 image or raw file, so a second writer (another sprout server, sprout check, qemu-io,
 * qemu-img without -U) is refused with one line, force-share readers still read, and sprout
 * refuses an image qemu-nbd has open for writing.
 */
class ImageLockingIT {

    private static final String MiB64 = "64M";

    @TempDir
    Path dir;

    @Test
    void aServedQcow2ImageRefusesOtherWritersAndCheckersButNotForceShareReaders() throws Exception {
        Path image = dir.resolve("disk.qcow2");
        sprout("create", "-f", "qcow2", image.toString(), MiB64).assertSuccess();
        try (SproutServer server = SproutServer.start(dir, image.toString())) {
            Cmd.run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 1M", "-c", "flush", server.uri()).assertSuccess();

            assertRefused(sprout("serve", "-U", dir.resolve("second.sock").toString(), image.toString(), "--run", "true"), image);
            assertRefused(sprout("check", "--repair", image.toString()), image);
            assertRefused(sprout("check", image.toString()), image);

            Cmd.Result info = Cmd.run("qemu-img", "info", image.toString());
            assertThat(info.exitCode()).as("%s", info).isNotZero();
            assertThat(info.stderr()).contains("Failed to get shared \"write\" lock");
            Cmd.Result write = Cmd.run("qemu-io", "-f", "qcow2", "-c", "write 0 4k", image.toString());
            assertThat(write.exitCode()).as("%s", write).isNotZero();
            assertThat(write.stderr()).contains("Failed to get \"write\" lock");

            Cmd.run("qemu-img", "info", "-U", image.toString()).assertSuccess();
            Cmd.run("qemu-io", "-r", "-U", "-f", "qcow2", "-c", "read -P 0x5a 0 1M", image.toString()).assertSuccess();
            assertThat(server.isAlive()).isTrue();
        }
        Map<String, Object> check = Json.object(Cmd.run("qemu-img", "check", "--output=json", image.toString())
                .assertSuccess().stdout());
        assertThat(check).as("the locks went with the server").containsEntry("check-errors", 0L);
        sprout("check", image.toString()).assertSuccess();
    }

    @Test
    void aServedRawFileRefusesASecondSproutWriterAndQemuIo() throws Exception {
        Path disk = dir.resolve("disk.img");
        Files.write(disk, new byte[1 << 20]);
        try (SproutServer server = SproutServer.start(dir, "file", disk.toString())) {
            assertRefused(sprout("serve", "-U", dir.resolve("second.sock").toString(), "file", disk.toString(),
                    "--run", "true"), disk);
            assertRefused(sprout("serve", "-U", dir.resolve("grow.sock").toString(), "file", disk.toString(), "size=2M",
                    "--run", "true"), disk);
            assertThat(Files.size(disk)).as("a refused size= resizes nothing").isEqualTo(1 << 20);
            Cmd.Result write = Cmd.run("qemu-io", "-f", "raw", "-c", "write 0 4k", disk.toString());
            assertThat(write.exitCode()).as("%s", write).isNotZero();
            assertThat(write.stderr()).contains("Failed to get \"write\" lock");
            // A read-only sprout server asks for no lock: it shares the file.
            sprout("serve", "-U", dir.resolve("reader.sock").toString(), "-r", "file", disk.toString(),
                    "--run", "nbdinfo \"$uri\" >/dev/null").assertSuccess();
        }
    }

    @Test
    void aPersistentOverlayServedTwiceIsRefusedTheSecondTime() throws Exception {
        Path base = dir.resolve("base.img");
        Files.write(base, new byte[1 << 20]);
        Path overlay = dir.resolve("overlay.qcow2");
        try (SproutServer server = SproutServer.start(dir, "--layer", "cow:overlay=" + overlay, "file", base.toString())) {
            assertRefused(sprout("serve", "-U", dir.resolve("second.sock").toString(), "--layer", "cow:overlay=" + overlay,
                    "file", base.toString(), "--run", "true"), overlay);
        }
    }

    @Test
    void sproutRefusesAnImageQemuNbdHasOpenForWriting() throws Exception {
        Path image = dir.resolve("disk.qcow2");
        sprout("create", "-f", "qcow2", image.toString(), MiB64).assertSuccess();
        Path socket = dir.resolve("qemu.sock");
        Process qemu = Cmd.spawn(dir.resolve("qemu-nbd.log"),
                List.of("qemu-nbd", "-k", socket.toString(), "-f", "qcow2", image.toString()));
        try {
            for (int i = 0; i < 500 && !Files.exists(socket); i++) {
                assertThat(qemu.isAlive()).as("qemu-nbd: %s", Files.readString(dir.resolve("qemu-nbd.log"))).isTrue();
                Thread.sleep(20);
            }
            assertRefused(sprout("serve", "-U", dir.resolve("sprout.sock").toString(), image.toString(), "--run", "true"), image);
            assertRefused(sprout("check", "--repair", image.toString()), image);
        } finally {
            Cmd.kill(qemu);
        }
        sprout("serve", "-U", dir.resolve("after.sock").toString(), image.toString(), "--run", "true").assertSuccess();
    }

    private static Cmd.Result sprout(String... args) {
        return Cmd.run(SproutServer.command(args).toArray(String[]::new));
    }

    private static void assertRefused(Cmd.Result result, Path image) {
        assertThat(result.exitCode()).as("%s", result).isNotZero();
        assertThat(result.stderr().strip()).as("one line naming the image: %s", result)
                .doesNotContain("\n").contains(image.toString()).contains("is locked");
    }
}
