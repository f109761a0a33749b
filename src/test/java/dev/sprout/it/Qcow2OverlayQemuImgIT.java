package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code sprout create} then {@code sprout serve} of a qcow2 overlay, written by qemu-io over NBD;
 * qemu-img then finds the file clean and identical to the expected raw content, and qemu-made
 * compressed images served by sprout compare identical to their source.
 */
class Qcow2OverlayQemuImgIT {

    private static final int MiB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void overlayCreatedServedAndWrittenPassesQemuImgCheckAndCompare() throws Exception {
        Path base = dir.resolve("base.img");
        byte[] content = new byte[32 * MiB];
        new Random(42).nextBytes(content);
        Files.write(base, content);
        Cmd.run(SproutServer.command("create", "-b", "base.img", "-F", "raw", dir.resolve("overlay.qcow2").toString())
                .toArray(String[]::new)).assertSuccess();
        Path expected = dir.resolve("expected.img");
        Files.copy(base, expected);
        List<String> commands = List.of("write -P 0x11 1M 300k", "write -z 4M 2M", "discard 10M 1M",
                "write -P 0x22 12345 7000", "write -P 0x33 31M 1M", "flush");
        try (SproutServer server = SproutServer.start(dir, dir.resolve("overlay.qcow2").toString())) {
            List<String> args = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
            for (String c : commands) {
                args.addAll(List.of("-c", c));
            }
            args.add(server.uri());
            Cmd.run(args.toArray(String[]::new)).assertSuccess();
            List<String> reference = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
            for (String c : commands) {
                reference.addAll(List.of("-c", c.replace("discard", "write -z")));
            }
            reference.add(expected.toString());
            Cmd.run(reference.toArray(String[]::new)).assertSuccess();
            Cmd.Result live = Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", server.uri(), expected.toString());
            assertThat(live.exitCode()).as("%s", live).isZero();
            server.stop();
        }
        Map<String, Object> check = Json.object(
                Cmd.run("qemu-img", "check", "--output=json", dir.resolve("overlay.qcow2").toString()).assertSuccess().stdout());
        assertThat(check).containsEntry("check-errors", 0L).doesNotContainKeys("corruptions", "leaks");
        Cmd.Result compare = Cmd.run("qemu-img", "compare", "-f", "qcow2", "-F", "raw",
                dir.resolve("overlay.qcow2").toString(), expected.toString());
        assertThat(compare.exitCode()).as("%s", compare).isZero();
        assertThat(Files.readAllBytes(base)).as("the base stays untouched").isEqualTo(content);
    }

    @Test
    void qemuMadeCompressedImageServedBySproutComparesIdenticalToItsSource() throws Exception {
        Path source = NbdcopyIT.sparseRandomImage(dir.resolve("source.img"), 16 * MiB, 7);
        Path image = dir.resolve("zstd.qcow2");
        Cmd.run("qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", "-o", "compression_type=zstd",
                source.toString(), image.toString()).assertSuccess();
        try (SproutServer server = SproutServer.start(dir, "--read-only", "file", image.toString())) {
            Cmd.Result compare = Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", server.uri(), source.toString());
            assertThat(compare.exitCode()).as("%s", compare).isZero();
        }
    }
}
