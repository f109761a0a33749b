package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code sprout copy -O qcow2}: the image qemu-img finds clean and identical to the source, with
 * clusters only where the source has non-zero data (holes and written zero runs allocate nothing).
 */
class CopyQcow2IT {

    private static final long KiB = 1024;
    private static final long MiB = 1024 * KiB;
    private static final long CLUSTER = 64 * KiB;

    @TempDir
    Path dir;

    /** A byte range, end exclusive. */
    record Range(long start, long end) {
        boolean overlaps(Range other) {
            return start < other.end && other.start < end;
        }
    }

    /**
     * 64 MiB: random data in cluster-aligned runs (and one unaligned 100-byte write in a cluster of
     * its own), 4 MiB of written zeroes at 20 MiB, one zero cluster inside a data run, holes.
     * Returns the clusters that hold non-zero bytes.
     */
    private List<Range> source(Path path, long seed) throws Exception {
        Random random = new Random(seed);
        List<Range> data = new ArrayList<>();
        try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
            file.setLength(64 * MiB);
            for (long at : new long[] {0, 3 * MiB, 9 * MiB + 5 * CLUSTER, 40 * MiB, 63 * MiB}) {
                long length = (1 + random.nextInt(16)) * CLUSTER;
                byte[] bytes = new byte[(int) length];
                random.nextBytes(bytes);
                bytes[0] = 1; // never a zero first or last byte: the run is exactly its clusters
                bytes[bytes.length - 1] = 1;
                file.seek(at);
                file.write(bytes);
                data.add(new Range(at, at + length));
            }
            file.seek(20 * MiB);
            file.write(new byte[(int) (4 * MiB)]);
            // A zero cluster written inside the run at 40 MiB: data on both sides, none in it.
            Range run = data.get(3);
            if (run.end() - run.start() >= 3 * CLUSTER) {
                file.seek(run.start() + CLUSTER);
                file.write(new byte[(int) CLUSTER]);
                data.set(3, new Range(run.start(), run.start() + CLUSTER));
                data.add(new Range(run.start() + 2 * CLUSTER, run.end()));
            }
            file.seek(50 * MiB + 1000);
            byte[] small = new byte[100];
            random.nextBytes(small);
            small[0] = 7;
            file.write(small);
            data.add(new Range(50 * MiB, 50 * MiB + CLUSTER));
        }
        return data;
    }

    private static Cmd.Result sprout(String... args) {
        return Cmd.run(SproutServer.command(args).toArray(String[]::new));
    }

    /** The ranges {@code qemu-img map} says hold data in this image file itself. */
    private static List<Range> allocated(Path qcow2) {
        List<Range> ranges = new ArrayList<>();
        for (Map<String, Object> extent : Json.objects(Cmd.run("qemu-img", "map", "-f", "qcow2", "--output=json",
                qcow2.toString()).assertSuccess().stdout())) {
            if (Boolean.TRUE.equals(extent.get("data")) && ((Number) extent.get("depth")).intValue() == 0) {
                long start = ((Number) extent.get("start")).longValue();
                ranges.add(new Range(start, start + ((Number) extent.get("length")).longValue()));
            }
        }
        return ranges;
    }

    private static long total(List<Range> ranges) {
        return ranges.stream().mapToLong(r -> r.end() - r.start()).sum();
    }

    private static void assertCleanAndIdentical(Path source, String sourceFormat, Path qcow2) {
        Cmd.Result check = Cmd.run("qemu-img", "check", "-f", "qcow2", qcow2.toString());
        assertThat(check.exitCode()).as("qemu-img check: %s", check).isZero();
        assertThat(check.stdout()).contains("No errors were found");
        Cmd.run("qemu-img", "compare", "-f", sourceFormat, "-F", "qcow2", source.toString(), qcow2.toString())
                .assertSuccess();
    }

    @Test
    void rawSourceBecomesACleanIdenticalQcow2WithClustersOnlyForData() throws Exception {
        long seed = System.nanoTime();
        Path source = dir.resolve("source.img");
        List<Range> data = source(source, seed);
        Path out = dir.resolve("out.qcow2");

        sprout("copy", "-O", "qcow2", source.toString(), out.toString()).assertSuccess();

        assertCleanAndIdentical(source, "raw", out);
        List<Range> allocated = allocated(out);
        assertThat(total(allocated)).as("seed %d: allocated %s, data %s", seed, allocated, data).isEqualTo(total(data));
        for (Range range : allocated) {
            assertThat(data).as("seed %d: %s holds data", seed, range).anyMatch(range::overlaps);
        }
        assertThat(allocated).as("seed %d: the written zero run", seed)
                .noneMatch(r -> r.overlaps(new Range(20 * MiB, 24 * MiB)));
        assertThat(Cmd.run("qemu-img", "info", "--output=json", out.toString()).assertSuccess().stdout())
                .contains("\"virtual-size\": " + 64 * MiB);
    }

    @Test
    void qcow2AndNbdSourcesCopyToIdenticalQcow2() throws Exception {
        Path raw = dir.resolve("source.img");
        List<Range> data = source(raw, 11);
        // A qcow2 source with zero clusters (written by qemu-io) over a raw backing file.
        Path base = dir.resolve("base.qcow2");
        Cmd.run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw.toString(), base.toString()).assertSuccess();
        Path overlay = dir.resolve("overlay.qcow2");
        Cmd.run("qemu-img", "create", "-q", "-f", "qcow2", "-b", base.toString(), "-F", "qcow2", overlay.toString())
                .assertSuccess();
        Cmd.run("qemu-io", "-f", "qcow2", "-c", "write -z 0 1M", "-c", "write -P 0x5a 30M 256K", overlay.toString())
                .assertSuccess();

        Path fromQcow2 = dir.resolve("from-qcow2.qcow2");
        sprout("copy", "-O", "qcow2", "--flush", overlay.toString(), fromQcow2.toString()).assertSuccess();
        assertCleanAndIdentical(overlay, "qcow2", fromQcow2);
        assertThat(allocated(fromQcow2)).as("the zeroed first MiB").noneMatch(r -> r.overlaps(new Range(0, MiB)));

        try (SproutServer server = SproutServer.start(dir, "-r", "file", raw.toString())) {
            Path fromNbd = dir.resolve("from-nbd.qcow2");
            sprout("copy", "-O", "qcow2", server.uri(), fromNbd.toString()).assertSuccess();
            assertCleanAndIdentical(raw, "raw", fromNbd);
            assertThat(total(allocated(fromNbd))).isEqualTo(total(data));
        }
    }
}
