package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code sprout map} on qcow2 backing chains of depth 1 to 3 made by qemu-img (raw and qcow2 bases,
 * zero clusters, discarded clusters, compressed clusters, holes, bases shorter than their overlays)
 * agrees with {@code qemu-img map}: depth, present, zero and data for every byte, and the file of
 * every data range; over NBD it agrees with {@code nbdinfo --map}.
 */
class MapQemuImgIT {

    private static final long MiB = 1 << 20;

    @TempDir
    Path dir;

    private static Cmd.Result sprout(String... args) {
        return Cmd.run(SproutServer.command(args).toArray(String[]::new));
    }

    private Path file(String name) {
        return dir.resolve(name);
    }

    private static void qemuImg(String... args) {
        List<String> command = new ArrayList<>(List.of("qemu-img"));
        command.addAll(List.of(args));
        Cmd.run(command.toArray(String[]::new)).assertSuccess();
    }

    /** Runs qemu-io commands on {@code image} (format detected, backing chain opened). */
    private static void qemuIo(Path image, String... commands) {
        List<String> command = new ArrayList<>(List.of("qemu-io"));
        for (String c : commands) {
            command.addAll(List.of("-c", c));
        }
        command.add(image.toString());
        Cmd.run(command.toArray(String[]::new)).assertSuccess();
    }

    @Test
    void aSingleQcow2ImageWithDataZeroDiscardedAndCompressedClusters() {
        Path image = file("one.qcow2");
        qemuImg("create", "-f", "qcow2", image.toString(), "16M");
        qemuIo(image, "write -P 1 0 3M", "write -z 1M 512k", "discard 2M 128k", "write -c -P 2 8M 64k",
                "write -P 3 12M 100k", "write -z 14M 64k", "write -z -u 15M 64k");
        assertSameMap(image);
    }

    @Test
    void aQcow2OverlayOnARawBaseWithHolesAndZeroes() {
        Path base = file("base.raw");
        qemuImg("create", "-f", "raw", base.toString(), "8M");
        qemuIo(base, "write -P 1 0 2M", "write -P 2 5M 1M");
        Path top = file("top.qcow2");
        qemuImg("create", "-f", "qcow2", "-b", "base.raw", "-F", "raw", top.toString());
        qemuIo(top, "write -P 3 1M 64k", "write -z 1536k 128k", "write -P 4 3M 1M", "discard 5M 64k");
        assertSameMap(top);
    }

    @Test
    void threeLayersWithAShortRawBaseAndMixedClusterSizes() {
        Path base = file("base.raw");
        qemuImg("create", "-f", "raw", base.toString(), "4M");
        qemuIo(base, "write -P 1 0 1M", "write -P 2 3M 512k");
        Path mid = file("mid.qcow2");
        qemuImg("create", "-f", "qcow2", "-o", "cluster_size=4096", "-b", "base.raw", "-F", "raw", mid.toString(), "8M");
        qemuIo(mid, "write -P 5 512k 12k", "write -z 2M 256k", "write -P 6 5M 8k", "discard 3M 4k");
        Path top = file("top.qcow2");
        qemuImg("create", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", top.toString(), "12M");
        qemuIo(top, "write -z 0 64k", "write -P 7 3M 64k", "write -P 8 10M 64k", "write -z 4M 1M");
        assertSameMap(top);
        assertSameMap(mid);
    }

    @Test
    void threeQcow2LayersWithAVersion2BaseNamedByAbsolutePath() {
        Path base = file("base.qcow2");
        qemuImg("create", "-f", "qcow2", "-o", "compat=0.10", base.toString(), "6M");
        qemuIo(base, "write -P 1 0 1M", "write -P 0 2M 64k");
        Path mid = file("mid.qcow2");
        qemuImg("create", "-f", "qcow2", "-o", "cluster_size=32768", "-b", base.toString(), "-F", "qcow2", mid.toString());
        qemuIo(mid, "write -P 2 256k 32k", "write -z 512k 64k");
        Path top = file("top.qcow2");
        qemuImg("create", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", top.toString(), "6M");
        qemuIo(top, "write -P 3 4M 64k");
        assertSameMap(top);
    }

    @Test
    void randomChainsOfDepthOneToThree() {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        for (int round = 0; round < 3; round++) {
            Path below = null;
            int depth = 1 + random.nextInt(3);
            for (int layer = 0; layer < depth; layer++) {
                boolean raw = layer == 0 && depth > 1 && random.nextBoolean();
                Path image = file("r" + round + "-" + layer + (raw ? ".raw" : ".qcow2"));
                long size = (4 + random.nextInt(5)) * MiB;
                if (raw) {
                    qemuImg("create", "-f", "raw", image.toString(), Long.toString(size));
                } else if (below == null) {
                    qemuImg("create", "-f", "qcow2", "-o", "cluster_size=" + (4096 << random.nextInt(5)),
                            image.toString(), Long.toString(size));
                } else {
                    qemuImg("create", "-f", "qcow2", "-o", "cluster_size=" + (4096 << random.nextInt(5)),
                            "-b", below.getFileName().toString(), "-F", below.toString().endsWith(".raw") ? "raw" : "qcow2",
                            image.toString(), Long.toString(size));
                }
                List<String> writes = new ArrayList<>();
                for (int i = 0; i < 12; i++) {
                    long at = random.nextLong(size / 4096) * 4096;
                    long length = Math.min(size - at, (1 + random.nextInt(64)) * 4096L);
                    writes.add(switch (random.nextInt(raw ? 2 : 4)) {
                        case 0 -> "write -P " + (1 + random.nextInt(200)) + " " + at + " " + length;
                        case 1 -> "write -z " + at + " " + length;
                        case 2 -> "discard " + at + " " + length;
                        default -> "write -P 0 " + at + " " + length;
                    });
                }
                qemuIo(image, writes.toArray(String[]::new));
                below = image;
            }
            assertSameMap(below, "seed " + seed + ", round " + round);
        }
    }

    @Test
    void mapOverNbdAgreesWithNbdinfoMap() {
        Path base = file("base.raw");
        qemuImg("create", "-f", "raw", base.toString(), "8M");
        qemuIo(base, "write -P 1 0 2M");
        Path top = file("top.qcow2");
        qemuImg("create", "-f", "qcow2", "-b", "base.raw", "-F", "raw", top.toString());
        qemuIo(top, "write -P 3 3M 64k", "write -z 1M 128k");
        try (SproutServer server = SproutServer.start(dir, "-r", top.toString())) {
            List<Map<String, Object>> ours = Json.objects(sprout("map", "--json", server.uri()).assertSuccess().stdout());
            List<List<Object>> nbdinfo = new ArrayList<>();
            for (String line : Cmd.run("nbdinfo", "--map", server.uri()).assertSuccess().stdout().strip().split("\n")) {
                String[] f = line.strip().split("\\s+");
                int flags = Integer.parseInt(f[2]);
                nbdinfo.add(List.of(Long.parseLong(f[0]), Long.parseLong(f[1]), (flags & 1) != 0, (flags & 2) != 0));
            }
            List<List<Object>> sproutRows = ours.stream()
                    .map(e -> List.<Object>of(e.get("start"), e.get("length"), e.get("hole"), e.get("zero"))).toList();
            assertThat(sproutRows).isEqualTo(nbdinfo);
        }
    }

    private void assertSameMap(Path image) {
        assertSameMap(image, image.toString());
    }

    /**
     * The JSON maps agree byte for byte, and the text output names qemu-img's file for every data
     * range (where qemu-img has a text map: it refuses images with compressed clusters).
     */
    private void assertSameMap(Path image, String what) {
        List<Map<String, Object>> ours = Json.objects(sprout("map", "--json", image.toString()).assertSuccess().stdout());
        List<Map<String, Object>> qemu = Json.objects(
                Cmd.run("qemu-img", "map", "--output=json", image.toString()).assertSuccess().stdout());
        assertThat(canonical(ours)).as(what).isEqualTo(canonical(qemu));

        String text = sprout("map", image.toString()).assertSuccess().stdout();
        List<String[]> rows = text.lines().skip(1).map(l -> l.strip().split("\\s+")).toList();
        Cmd.Result qemuText = Cmd.run("qemu-img", "map", image.toString());
        if (qemuText.exitCode() != 0) {
            assertThat(qemuText.stderr()).as(what).contains("compressed clusters");
            return;
        }
        for (String line : qemuText.stdout().lines().skip(1).toList()) {
            String[] q = line.strip().split("\\s+", 4);
            long start = Long.decode(q[0]);
            long end = start + Long.decode(q[1]);
            for (String[] row : rows) {
                long rowStart = Long.parseLong(row[0]);
                long rowEnd = rowStart + Long.parseLong(row[1]);
                if (rowStart < end && rowEnd > start) {
                    assertThat(row).as("%s: sprout's rows over qemu-img's %s", what, line).containsExactly(
                            row[0], row[1], "data", row[3], q[3]);
                }
            }
        }
    }

    /** Runs of equal (depth, present, zero, data) as [start, length, depth, present, zero, data], neighbours merged. */
    private static List<List<Object>> canonical(List<Map<String, Object>> map) {
        List<List<Object>> runs = new ArrayList<>();
        for (Map<String, Object> e : map) {
            List<Object> key = List.of(e.get("depth"), e.get("present"), e.get("zero"), e.get("data"));
            long start = (Long) e.get("start");
            long length = (Long) e.get("length");
            if (!runs.isEmpty()) {
                List<Object> last = runs.getLast();
                if (last.subList(2, 6).equals(key) && (Long) last.get(0) + (Long) last.get(1) == start) {
                    runs.set(runs.size() - 1, run(last.get(0), (Long) last.get(1) + length, key));
                    continue;
                }
            }
            runs.add(run(start, length, key));
        }
        return runs;
    }

    private static List<Object> run(Object start, long length, List<Object> key) {
        List<Object> run = new ArrayList<>(List.of(start, length));
        run.addAll(key);
        return run;
    }
}
