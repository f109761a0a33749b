package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code sprout sparsify} on images qemu-img and qemu-io made with written zeroes: the content stays
 * identical for {@code qemu-img compare}, {@code qemu-img check} stays clean, {@code qemu-img map}
 * shows the zeroes as holes or zero clusters, and the reported space won is what the file lost.
 */
class SparsifyQemuImgIT {

    private static final long MiB = 1 << 20;
    /** Allocation differs by a metadata cluster or two between images of the same content. */
    private static final long SLACK = 128 * 1024;
    private static final Pattern WON = Pattern.compile("\\((\\d+) bytes won\\)");

    @TempDir
    Path dir;

    private static Cmd.Result sprout(String... args) {
        return Cmd.run(SproutServer.command(args).toArray(String[]::new));
    }

    private static void qemuIo(Path image, String format, String... commands) {
        List<String> command = new ArrayList<>(List.of("qemu-io", "-f", format));
        for (String c : commands) {
            command.addAll(List.of("-c", c));
        }
        command.add(image.toString());
        Cmd.run(command.toArray(String[]::new)).assertSuccess();
    }

    private Path copyOf(Path image) {
        Path copy = dir.resolve("before-" + image.getFileName());
        Cmd.run("cp", "--sparse=never", image.toString(), copy.toString()).assertSuccess();
        return copy;
    }

    /** The bytes the report says were won. */
    private static long won(String report) {
        Matcher m = WON.matcher(report);
        assertThat(m.find()).as(report).isTrue();
        return Long.parseLong(m.group(1));
    }

    private static List<Map<String, Object>> qemuMap(Path image) {
        return Json.objects(Cmd.run("qemu-img", "map", "--output=json", image.toString()).assertSuccess().stdout());
    }

    /** The map entry covering {@code offset}. */
    private static Map<String, Object> at(List<Map<String, Object>> map, long offset) {
        return map.stream().filter(e -> (Long) e.get("start") <= offset && offset < (Long) e.get("start") + (Long) e.get("length"))
                .findFirst().orElseThrow();
    }

    private static void assertCheckClean(Path image) {
        String check = Cmd.run("qemu-img", "check", "--output=json", image.toString()).assertSuccess().stdout();
        assertThat(check).doesNotContainPattern("\"(corruptions|leaks)[a-z-]*\": [1-9]");
    }

    @Test
    void aRawFileGetsHolesWhereItHadWrittenZeroes() {
        Path image = dir.resolve("disk.img");
        Cmd.run("qemu-img", "create", "-f", "raw", image.toString(), "16M").assertSuccess();
        qemuIo(image, "raw", "write -P 1 0 1M", "write -P 0 1M 3M", "write -P 2 4M 4k", "write -P 0 4100k 60k",
                "write -P 0 8M 2M");
        Path before = copyOf(image);
        long allocated = Cmd.allocatedBytes(before);
        Cmd.run("cp", "--sparse=never", before.toString(), image.toString()).assertSuccess();

        String report = sprout("sparsify", "--in-place", image.toString()).assertSuccess().stdout();
        Cmd.run("cmp", before.toString(), image.toString()).assertSuccess();
        long lost = allocated - Cmd.allocatedBytes(image);
        assertThat(lost).isGreaterThanOrEqualTo(5 * MiB);
        assertThat(won(report)).isBetween(lost - SLACK, lost + SLACK);
        List<Map<String, Object>> map = qemuMap(image);
        assertThat(at(map, MiB)).containsEntry("data", false);
        assertThat(at(map, 9 * MiB)).containsEntry("data", false);
        assertThat(at(map, 0)).containsEntry("data", true);
        assertThat(at(map, 4 * MiB)).containsEntry("data", true);
    }

    @Test
    void aQcow2ImageFreesItsZeroClustersAndStaysClean() {
        Path image = dir.resolve("disk.qcow2");
        Cmd.run("qemu-img", "create", "-f", "qcow2", image.toString(), "16M").assertSuccess();
        // Whole clusters of zeroes at 1-3 MiB and 8-9 MiB; the cluster at 3 MiB is half data, half zeroes.
        qemuIo(image, "qcow2", "write -P 1 0 1M", "write -P 0 1M 2M", "write -P 2 3M 32k", "write -P 0 3104k 32k",
                "write -P 0 8M 1M");
        Path before = copyOf(image);
        long allocated = Cmd.allocatedBytes(image);

        String report = sprout("sparsify", "--in-place", image.toString()).assertSuccess().stdout();
        assertCheckClean(image);
        Cmd.run("qemu-img", "compare", before.toString(), image.toString()).assertSuccess();
        List<Map<String, Object>> map = qemuMap(image);
        assertThat(at(map, MiB)).containsEntry("data", false).containsEntry("zero", true);
        assertThat(at(map, 8 * MiB)).containsEntry("data", false).containsEntry("zero", true);
        assertThat(at(map, 3 * MiB)).containsEntry("data", true);
        assertThat(at(map, 0)).containsEntry("data", true);
        // 3 MiB of zero clusters freed, give or take a metadata cluster.
        assertThat(won(report)).isGreaterThanOrEqualTo(3 * MiB - SLACK);
        assertThat(Cmd.allocatedBytes(image)).isLessThanOrEqualTo(allocated - 3 * MiB + SLACK);
    }

    @Test
    void twoMiBClustersAreSparsifiedWhole() {
        Path image = dir.resolve("big-clusters.qcow2");
        Cmd.run("qemu-img", "create", "-f", "qcow2", "-o", "cluster_size=2M", image.toString(), "16M").assertSuccess();
        qemuIo(image, "qcow2", "write -P 1 0 2M", "write -P 0 2M 4M", "write -P 3 6M 1M", "write -P 0 7M 1M");
        Path before = copyOf(image);

        sprout("sparsify", "--in-place", image.toString()).assertSuccess();
        assertCheckClean(image);
        Cmd.run("qemu-img", "compare", before.toString(), image.toString()).assertSuccess();
        List<Map<String, Object>> map = qemuMap(image);
        assertThat(at(map, 2 * MiB)).containsEntry("data", false);
        assertThat(at(map, 5 * MiB)).containsEntry("data", false);
        assertThat(at(map, 6 * MiB)).containsEntry("data", true);
    }

    @Test
    void anOverlayGetsZeroClustersAndNeverTouchesItsBackingFile() {
        Path base = dir.resolve("base.raw");
        Cmd.run("qemu-img", "create", "-f", "raw", base.toString(), "8M").assertSuccess();
        qemuIo(base, "raw", "write -P 5 0 4M", "write -P 0 4M 1M");
        String baseSum = Cmd.run("sha256sum", base.toString()).assertSuccess().stdout().split(" ")[0];
        Path overlay = dir.resolve("overlay.qcow2");
        Cmd.run("qemu-img", "create", "-f", "qcow2", "-b", "base.raw", "-F", "raw", overlay.toString()).assertSuccess();
        qemuIo(overlay, "qcow2", "write -P 0 1M 1M", "write -P 7 2M 64k", "write -P 0 6M 64k");
        Path before = copyOf(overlay);

        sprout("sparsify", "--in-place", overlay.toString()).assertSuccess();
        assertCheckClean(overlay);
        Cmd.run("qemu-img", "compare", before.toString(), overlay.toString()).assertSuccess();
        List<Map<String, Object>> map = qemuMap(overlay);
        // The overlay's zeroes over the base's data: zero clusters in the overlay (depth 0).
        assertThat(at(map, MiB)).containsEntry("depth", 0L).containsEntry("zero", true).containsEntry("data", false);
        assertThat(at(map, 6 * MiB)).containsEntry("depth", 0L).containsEntry("zero", true);
        assertThat(at(map, 2 * MiB)).containsEntry("depth", 0L).containsEntry("data", true);
        // The base's own written zeroes are the base's business: still read from it.
        assertThat(at(map, 4 * MiB)).containsEntry("depth", 1L);
        assertThat(Cmd.run("sha256sum", base.toString()).assertSuccess().stdout().split(" ")[0]).isEqualTo(baseSum);
    }

    @Test
    void intoANewFileKeepsTheFormatAndReportsTheSpaceWon() {
        Path image = dir.resolve("disk.qcow2");
        Cmd.run("qemu-img", "create", "-f", "qcow2", image.toString(), "16M").assertSuccess();
        qemuIo(image, "qcow2", "write -P 1 0 1M", "write -P 0 1M 3M");
        Path output = dir.resolve("sparse.qcow2");
        String report = sprout("sparsify", image.toString(), output.toString()).assertSuccess().stdout();
        Map<String, Object> info = Json.object(
                Cmd.run("qemu-img", "info", "--output=json", output.toString()).assertSuccess().stdout());
        assertThat(info).containsEntry("format", "qcow2").containsEntry("virtual-size", 16 * MiB);
        Cmd.run("qemu-img", "compare", image.toString(), output.toString()).assertSuccess();
        assertCheckClean(output);
        assertThat(won(report)).isGreaterThanOrEqualTo(3 * MiB - SLACK);
        assertThat(Cmd.allocatedBytes(output)).isLessThanOrEqualTo(Cmd.allocatedBytes(image) - 3 * MiB + SLACK);

        Path raw = dir.resolve("disk.raw");
        Cmd.run("qemu-img", "convert", "-O", "raw", "-S", "0", image.toString(), raw.toString()).assertSuccess();
        Path sparseRaw = dir.resolve("sparse.raw");
        sprout("sparsify", raw.toString(), sparseRaw.toString()).assertSuccess();
        Cmd.run("cmp", raw.toString(), sparseRaw.toString()).assertSuccess();
        assertThat(Cmd.allocatedBytes(sparseRaw)).isLessThanOrEqualTo(Cmd.allocatedBytes(raw) - 14 * MiB);
    }
}
