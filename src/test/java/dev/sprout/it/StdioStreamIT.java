package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code sprout copy} with raw streams: {@code IMAGE -} writes the image's bytes to stdout and
 * {@code - DST} reads stdin to its end; checked with cmp, qemu-img (compare, map, check, info)
 * and an NBD export.
 */
class StdioStreamIT {

    private static final long MiB = 1 << 20;

    @TempDir
    Path dir;

    private static String sprout(String... args) {
        return String.join(" ", SproutServer.command(args));
    }

    /** Runs a bash script (pipelines, redirections). */
    private static Cmd.Result bash(String script) {
        return Cmd.run("bash", "-c", script);
    }

    /**
     * A stream of an odd length: random data, 3 MiB of zeroes, data, and zeroes again up to the
     * end, so only the stream's length says where the image ends.
     */
    private Path stream(long seed) throws Exception {
        Path path = dir.resolve("stream.bin");
        Random random = new Random(seed);
        try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
            byte[] data = new byte[(int) MiB + 4321];
            random.nextBytes(data);
            file.write(data);
            file.write(new byte[(int) (3 * MiB)]);
            random.nextBytes(data);
            file.write(data);
            file.write(new byte[(int) (2 * MiB) + 99]);
        }
        return path;
    }

    @Test
    void stdinWithZeroRunsBecomesASparseRawImageAsLongAsTheStream() throws Exception {
        Path stream = stream(System.nanoTime());
        Path image = dir.resolve("out.img");
        bash("cat " + stream + " | " + sprout("copy", "-", image.toString())).assertSuccess();

        assertThat(Files.size(image)).isEqualTo(Files.size(stream));
        Cmd.run("cmp", stream.toString(), image.toString()).assertSuccess();
        // The zero runs are holes: only the two data runs (and the 64 KiB blocks they touch) are allocated.
        assertThat(Cmd.allocatedBytes(image)).isLessThanOrEqualTo(2 * (MiB + 128 * 1024));
        List<Map<String, Object>> map = Json.objects(
                Cmd.run("qemu-img", "map", "-f", "raw", "--output=json", image.toString()).assertSuccess().stdout());
        assertThat(map).anySatisfy(e -> assertThat(e).containsEntry("data", false)
                .satisfies(m -> assertThat((Long) m.get("length")).isGreaterThanOrEqualTo(2 * MiB)));
    }

    @Test
    void stdinToQcow2IsAValidImageOfTheStreamsContent() throws Exception {
        Path stream = stream(5);
        Path image = dir.resolve("out.qcow2");
        bash("cat " + stream + " | " + sprout("copy", "-O", "qcow2", "-", image.toString())).assertSuccess();

        Cmd.run("qemu-img", "check", image.toString()).assertSuccess();
        // qcow2 sizes are whole sectors: rounded up, the tail reads as zeroes, as with qemu-img convert.
        Map<String, Object> info = Json.object(
                Cmd.run("qemu-img", "info", "--output=json", image.toString()).assertSuccess().stdout());
        assertThat((Long) info.get("virtual-size")).isEqualTo((Files.size(stream) + 511) / 512 * 512);
        Path back = dir.resolve("back.raw");
        Cmd.run("qemu-img", "convert", "-O", "raw", image.toString(), back.toString()).assertSuccess();
        Cmd.run("truncate", "-s", Long.toString(Files.size(stream)), back.toString()).assertSuccess();
        Cmd.run("cmp", stream.toString(), back.toString()).assertSuccess();
        List<Map<String, Object>> map = Json.objects(
                Cmd.run("qemu-img", "map", "--output=json", image.toString()).assertSuccess().stdout());
        long data = map.stream().filter(e -> (Boolean) e.get("data")).mapToLong(e -> (Long) e.get("length")).sum();
        assertThat(data).isLessThanOrEqualTo(2 * (MiB + 128 * 1024));
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("stream.bin", "out.qcow2", "back.raw");
        }
    }

    @Test
    void anImageToStdoutIsItsRawBytes() throws Exception {
        Path stream = stream(9);
        Path qcow2 = dir.resolve("source.qcow2");
        Cmd.run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", stream.toString(), qcow2.toString()).assertSuccess();
        Path expected = dir.resolve("expected.raw");
        Cmd.run("qemu-img", "convert", "-O", "raw", qcow2.toString(), expected.toString()).assertSuccess();
        Path out = dir.resolve("stdout.raw");
        bash(sprout("copy", qcow2.toString(), "-") + " > " + out).assertSuccess();
        Cmd.run("cmp", expected.toString(), out.toString()).assertSuccess();

        try (SproutServer server = SproutServer.start(dir, "-r", "file", stream.toString())) {
            Path viaNbd = dir.resolve("nbd.raw");
            bash(sprout("copy", server.uri(), "-") + " > " + viaNbd).assertSuccess();
            Cmd.run("cmp", stream.toString(), viaNbd.toString()).assertSuccess();
        }
    }

    @Test
    void stdinOntoAnNbdExportAndOneTooLongForIt() throws Exception {
        Path stream = stream(13);
        try (SproutServer server = SproutServer.start(dir, "memory", "16M")) {
            bash("cat " + stream + " | " + sprout("copy", "-", server.uri())).assertSuccess();
            Path prefix = dir.resolve("prefix.raw");
            Cmd.run("nbdcopy", server.uri(), prefix.toString()).assertSuccess();
            Cmd.run("cmp", "-n", Long.toString(Files.size(stream)), stream.toString(), prefix.toString()).assertSuccess();

            Cmd.Result tooLong = bash("head -c 20M /dev/urandom | " + sprout("copy", "-", server.uri()));
            assertThat(tooLong.exitCode()).isNotZero();
            assertThat(tooLong.stderr().strip()).startsWith("sprout: ").contains("larger than").doesNotContain("\n");
        }
    }

    @Test
    void aReaderThatGoesAwayIsAOneLineError() throws Exception {
        Path stream = stream(17);
        Cmd.Result result = bash(sprout("copy", stream.toString(), "-") + " | head -c 1000 > /dev/null; exit ${PIPESTATUS[0]}");
        assertThat(result.exitCode()).isNotZero();
        assertThat(result.stderr().strip()).startsWith("sprout: writing stdout failed after ")
                .containsIgnoringCase("broken pipe").doesNotContain("\n");
    }

    @Test
    void anUnreadableStdinIsAOneLineErrorAndLeavesNoImage() throws Exception {
        Path image = dir.resolve("out.img");
        Cmd.Result result = bash(sprout("copy", "-", image.toString()) + " < " + dir);
        assertThat(result.exitCode()).isNotZero();
        assertThat(result.stderr().strip()).startsWith("sprout: reading stdin failed").doesNotContain("\n");
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files).isEmpty();
        }
    }
}
