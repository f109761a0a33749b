package dev.sprout.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --layer cow:overlay=overlay.qcow2 file base.img} written by qemu-io, the server stopped,
 * then {@code serve overlay.qcow2} alone and the layer again show the same disk; qemu-img finds
 * the overlay clean and identical to the expected raw image, and the base is untouched.
 */
class CowOverlayQemuImgIT {

    private static final int MiB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void persistentOverlayOutlivesTheServerAndServesAloneAsTheSameDisk() throws Exception {
        Path base = dir.resolve("base.img");
        byte[] content = new byte[32 * MiB];
        new Random(4).nextBytes(content);
        Files.write(base, content);
        Path expected = dir.resolve("expected.img");
        Files.copy(base, expected);
        Path overlay = dir.resolve("overlay.qcow2");
        // No flush: stopping the server must make everything durable.
        List<String> commands = List.of("write -P 0x11 1M 300k", "write -z 4M 2M", "discard 10M 1M",
                "write -P 0x22 12345 7000", "write -P 0x33 31M 1M", "write -z 20000 100");
        String layer = "cow:overlay=" + overlay;
        try (SproutServer server = SproutServer.start(dir, "--layer", layer, "file", base.toString())) {
            qemuIo(server.uri(), commands);
            qemuIo(expected.toString(), commands.stream().map(c -> c.replace("discard", "write -z")).toList());
            assertIdentical(server.uri(), expected);
        }
        Map<String, Object> check = Json.object(
                Cmd.run("qemu-img", "check", "--output=json", overlay.toString()).assertSuccess().stdout());
        assertThat(check).containsEntry("check-errors", 0L).doesNotContainKeys("corruptions", "leaks");
        Map<String, Object> info = Json.object(
                Cmd.run("qemu-img", "info", "--output=json", overlay.toString()).assertSuccess().stdout());
        assertThat(info).containsEntry("backing-filename", "base.img").containsEntry("backing-filename-format", "raw")
                .containsEntry("virtual-size", (long) content.length);
        Cmd.Result compare = Cmd.run("qemu-img", "compare", "-f", "qcow2", "-F", "raw", overlay.toString(), expected.toString());
        assertThat(compare.exitCode()).as("%s", compare).isZero();

        try (SproutServer alone = SproutServer.start(dir, overlay.toString())) {
            assertIdentical(alone.uri(), expected);
        }
        try (SproutServer again = SproutServer.start(dir, "--layer", layer, "file", base.toString())) {
            assertIdentical(again.uri(), expected);
        }
        assertThat(Files.readAllBytes(base)).as("the base stays untouched").isEqualTo(content);
    }

    @Test
    void anOverlayOverADifferentFileStopsTheServerWithOneLine() throws Exception {
        Path base = dir.resolve("base.img");
        Path other = dir.resolve("other.img");
        Files.write(base, new byte[MiB]);
        Files.write(other, new byte[MiB]);
        Path overlay = dir.resolve("overlay.qcow2");
        try (SproutServer server = SproutServer.start(dir, "--layer", "cow:overlay=" + overlay, "file", base.toString())) {
            assertThat(overlay).exists();
        }
        Cmd.Result refused = Cmd.run(SproutServer.command("serve", "-U", dir.resolve("x.sock").toString(),
                "--layer", "cow:overlay=" + overlay, "file", other.toString()).toArray(String[]::new));
        assertThat(refused.exitCode()).as("%s", refused).isNotZero();
        assertThat(refused.stderr().strip()).as("one line").doesNotContain("\n")
                .contains("names backing file " + base).contains(other.toString());
    }

    private static void qemuIo(String target, List<String> commands) {
        List<String> args = new ArrayList<>(List.of("qemu-io", "-f", "raw"));
        for (String c : commands) {
            args.addAll(List.of("-c", c));
        }
        args.add(target);
        Cmd.run(args.toArray(String[]::new)).assertSuccess();
    }

    private static void assertIdentical(String uri, Path expected) {
        Cmd.Result compare = Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", uri, expected.toString());
        assertThat(compare.exitCode()).as("%s", compare).isZero();
    }
}
