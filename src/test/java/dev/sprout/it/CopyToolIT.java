package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** {@code sprout copy/map/compare/info/sparsify} checked with qemu-img, nbdcopy and nbdinfo. */
class CopyToolIT {

    private static final long MiB = 1 << 20;

    @TempDir
    Path dir;

    /** Random data, a run of written zeroes at 20 MiB, holes elsewhere. */
    private Path sourceImage(long seed) throws Exception {
        Path source = NbdcopyIT.sparseRandomImage(dir.resolve("source.img"), 64 * MiB, seed);
        try (RandomAccessFile file = new RandomAccessFile(source.toFile(), "rw")) {
            file.seek(20 * MiB);
            file.write(new byte[(int) (4 * MiB)]);
        }
        return source;
    }

    private static Cmd.Result sprout(String... args) {
        return Cmd.run(SproutServer.command(args).toArray(String[]::new));
    }

    @Test
    void copyToAFileIsIdenticalForQemuImgAndSparserThanTheSource() throws Exception {
        long seed = System.nanoTime();
        Path source = sourceImage(seed);
        Path copy = dir.resolve("copy.img");
        Cmd.Result result = sprout("copy", source.toString(), copy.toString()).assertSuccess();
        assertThat(result.stderr()).contains("copied 64.0M");

        Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(), copy.toString()).assertSuccess();
        assertThat(Cmd.allocatedBytes(copy)).as("seed %d", seed).isLessThanOrEqualTo(Cmd.allocatedBytes(source) - 3 * MiB);
        assertThat(sprout("compare", source.toString(), copy.toString()).assertSuccess().stdout())
                .contains("Images are identical.");
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("source.img", "copy.img");
        }
    }

    @Test
    void copyCompareAndSparsifyReportInJson() throws Exception {
        Path source = sourceImage(7);
        Path copy = dir.resolve("copy.img");
        Map<String, Object> copied = Json.object(
                sprout("copy", "--json", source.toString(), copy.toString()).assertSuccess().stdout());
        assertThat(copied).containsEntry("source", source.toString()).containsEntry("destination", copy.toString())
                .containsEntry("size", 64 * MiB).containsKeys("seconds", "bytes_per_second");
        long data = (Long) copied.get("data_bytes");
        // what the copy allocated, to a file system block at each end of the data's runs
        assertThat(data).isCloseTo(Cmd.allocatedBytes(copy), within(64 * 1024L));
        assertThat(data + (Long) copied.get("zero_bytes")).isEqualTo(64 * MiB);

        Map<String, Object> same = Json.object(sprout("compare", "--json", source.toString(), copy.toString())
                .assertSuccess().stdout());
        assertThat(same).containsEntry("identical", true).containsEntry("first_difference", null);
        try (RandomAccessFile file = new RandomAccessFile(copy.toFile(), "rw")) {
            file.seek(33 * MiB + 5);
            file.write(1);
        }
        Map<String, Object> differ = Json.object(sprout("compare", "--json", source.toString(), copy.toString())
                .assertExit(1).stdout());
        assertThat(differ).containsEntry("identical", false).containsEntry("first_difference", 33 * MiB + 5);

        long before = Cmd.allocatedBytes(source);
        Map<String, Object> sparsified = Json.object(sprout("sparsify", "--json", "--in-place", source.toString())
                .assertSuccess().stdout());
        assertThat(sparsified).containsEntry("zero_bytes", 4 * MiB).containsEntry("zeroes", "punched")
                .containsEntry("allocated_before", before);
        long after = (Long) sparsified.get("allocated_after");
        // sprout counts data blocks (SEEK_DATA), st_blocks also the extent tree's own blocks
        assertThat(after).isCloseTo(Cmd.allocatedBytes(source), within(64 * 1024L));
        assertThat(sparsified).containsEntry("bytes_won", before - after);
        assertThat(before - after).isGreaterThanOrEqualTo(4 * MiB - 64 * 1024);

        Cmd.Result toStdout = sprout("copy", "--json", source.toString(), "-");
        assertThat(toStdout.exitCode()).isNotZero();
        assertThat(toStdout.stdout()).isEmpty();
        assertThat(toStdout.stderr()).contains("--json prints to stdout");
    }

    @Test
    void mapAgreesWithQemuImgMapAndNbdinfoMap() throws Exception {
        Path source = sourceImage(42);
        List<Map<String, Object>> ours = Json.objects(sprout("map", "--json", source.toString()).assertSuccess().stdout());
        List<Map<String, Object>> qemu = Json.objects(
                Cmd.run("qemu-img", "map", "-f", "raw", "--output=json", source.toString()).assertSuccess().stdout());
        assertThat(dataRanges(ours)).isEqualTo(dataRanges(qemu));
        try (SproutServer server = SproutServer.start(dir, "file", source.toString())) {
            List<Map<String, Object>> viaNbd = Json.objects(sprout("map", "--json", server.uri()).assertSuccess().stdout());
            assertThat(dataRanges(viaNbd)).isEqualTo(dataRanges(qemu));
            String nbdinfo = Cmd.run("nbdinfo", "--map", server.uri()).assertSuccess().stdout();
            long nbdinfoData = nbdinfo.lines().filter(l -> l.trim().endsWith("data"))
                    .mapToLong(l -> Long.parseLong(l.trim().split("\\s+")[1])).sum();
            assertThat(nbdinfoData).isEqualTo(dataRanges(qemu).stream().mapToLong(r -> r.get(1)).sum());
        }
    }

    @Test
    void copiesIntoAndOutOfNbdExportsAgreeingWithNbdcopy() throws Exception {
        Path source = sourceImage(7);
        try (SproutServer server = SproutServer.start(dir, "memory", "64M")) {
            sprout("copy", source.toString(), server.uri()).assertSuccess();
            Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(), server.uri()).assertSuccess();
            Path back = dir.resolve("back.img");
            sprout("copy", "--requests", "32", server.uri(), back.toString()).assertSuccess();
            Path viaNbdcopy = dir.resolve("nbdcopy.img");
            Cmd.run("nbdcopy", server.uri(), viaNbdcopy.toString()).assertSuccess();
            Cmd.run("cmp", back.toString(), viaNbdcopy.toString()).assertSuccess();
            Cmd.run("cmp", back.toString(), source.toString()).assertSuccess();
            Map<String, Object> info = Json.object(sprout("info", "--json", server.uri()).assertSuccess().stdout());
            assertThat(info).containsEntry("virtual_size", 64 * MiB).containsEntry("can_zero", true)
                    .containsEntry("is_read_only", false);
        }
    }

    @Test
    void aSparseSourceOfTwoToThe63MinusOneBytesCopiesInSeconds() throws Exception {
        Path shm = Files.createTempDirectory(Path.of("/dev/shm"), "sprout-copy");
        try {
            Path big = shm.resolve("big.img");
            try (RandomAccessFile file = new RandomAccessFile(big.toFile(), "rw")) {
                file.setLength(Long.MAX_VALUE);
                file.seek(1L << 40);
                file.write("sprout".getBytes());
            }
            long start = System.nanoTime();
            sprout("copy", big.toString(), shm.resolve("copy.img").toString()).assertSuccess();
            assertThat((System.nanoTime() - start) / 1e9).isLessThan(20);
            assertThat(Files.size(shm.resolve("copy.img"))).isEqualTo(Long.MAX_VALUE);
            assertThat(sprout("compare", big.toString(), shm.resolve("copy.img").toString()).exitCode()).isZero();
        } finally {
            Cmd.run("rm", "-rf", shm.toString());
        }
    }

    @Test
    void badInputGivesOneLineErrorsAndNoDestination() throws Exception {
        Path source = sourceImage(3);
        Path target = dir.resolve("out.img");
        List<Cmd.Result> failures = List.of(
                sprout("copy", dir.resolve("missing.img").toString(), target.toString()),
                sprout("copy", "nbd+unix:///?socket=" + dir.resolve("nobody.sock"), target.toString()),
                sprout("copy", "--partition", "2", source.toString(), target.toString()));
        for (Cmd.Result failure : failures) {
            assertThat(failure.exitCode()).as("%s", failure).isNotZero();
            assertThat(failure.stderr().strip()).as("%s", failure).startsWith("sprout: ").doesNotContain("\n");
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).doesNotContain("out.img")
                    .noneMatch(name -> name.startsWith(".out.img"));
        }
    }

    /**
     * A copy stopped halfway (SIGTERM, as a service manager or a Ctrl-C stops it) removes its
     * temporary file and publishes nothing: the JVM skips the copy's cleanup then, and the hidden
     * file stayed behind.
     */
    @Test
    void aCopyStoppedHalfwayLeavesNoTemporaryFile() throws Exception {
        Path target = dir.resolve("out.img");
        Process copy = new ProcessBuilder(SproutServer.command("copy", "-", target.toString()))
                .redirectErrorStream(true).redirectOutput(dir.resolve("copy.log").toFile()).start();
        Path temporary = dir.resolve(".out.img.sprout-" + copy.pid());
        try {
            copy.getOutputStream().write(new byte[(int) MiB]);
            copy.getOutputStream().flush();
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (!Files.exists(temporary)) {
                assertThat(copy.isAlive()).as("copy still running").isTrue();
                assertThat(System.nanoTime()).as("temporary file within 30 s").isLessThan(deadline);
                Thread.sleep(10);
            }
            // SIGTERM with stdin still open, so the copy is halfway (Process.destroy would also close
            // stdin, and the copy might finish first); then the end of its input, as when a Ctrl-C
            // kills the producer as well: what it read must not be published as the copy.
            copy.toHandle().destroy();
            assertThat(copy.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)).as("copy ended").isTrue();
            copy.getOutputStream().close();
        } finally {
            copy.destroyForcibly();
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).doesNotContain("out.img")
                    .noneMatch(name -> name.startsWith(".out.img"));
        }
    }

    @Test
    void sparsifyInPlacePunchesZeroesAndKeepsTheContent() throws Exception {
        Path source = sourceImage(9);
        Path before = dir.resolve("before.img");
        Cmd.run("cp", "--sparse=never", source.toString(), before.toString()).assertSuccess();
        long allocated = Cmd.allocatedBytes(before);
        String report = sprout("sparsify", "--in-place", before.toString()).assertSuccess().stdout();
        assertThat(report).contains("bytes won");
        assertThat(Cmd.allocatedBytes(before)).isLessThan(allocated - 4 * MiB);
        Cmd.run("cmp", source.toString(), before.toString()).assertSuccess();
    }

    /** The [start, length] of each data run. */
    private static List<List<Long>> dataRanges(List<Map<String, Object>> map) {
        return map.stream().filter(e -> (Boolean) e.get("data"))
                .map(e -> List.of((Long) e.get("start"), (Long) e.get("length"))).toList();
    }
}
