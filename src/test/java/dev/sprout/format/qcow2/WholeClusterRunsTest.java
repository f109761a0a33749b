package dev.sprout.format.qcow2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.ZeroFlags;
import dev.sprout.tool.ImageOpener;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writes that cover several whole clusters: their new clusters are claimed together and written
 * side by side in the host file, whatever other writers do meanwhile; a run mixing clusters of
 * every kind (in place, backing, zero with and without host space, compressed) ends with the
 * written bytes and a clean image; and a run refused at max-size leaves nothing claimed.
 */
class WholeClusterRunsTest {

    private static final int CLUSTER = 65536;
    private static final int CHUNK = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void concurrentRunsEachLandInOneHostRange() throws Exception {
        Path image = dir.resolve("runs.qcow2");
        int chunks = 64;
        Qcow2Image.create(image, (long) chunks * CHUNK, Optional.empty(), CLUSTER);
        try (Qcow2Image disk = Qcow2Image.open(image, false);
             ExecutorService threads = Executors.newFixedThreadPool(8)) {
            List<Future<?>> writes = new ArrayList<>();
            for (int chunk = 0; chunk < chunks; chunk++) {
                int k = chunk;
                writes.add(threads.submit(() -> {
                    disk.write((long) k * CHUNK, ByteBuffer.wrap(pattern(k, CHUNK)), false);
                    return null;
                }));
            }
            for (Future<?> write : writes) {
                write.get();
            }
            disk.flush();
            for (int chunk = 0; chunk < chunks; chunk++) {
                ByteBuffer back = ByteBuffer.allocate(CHUNK);
                disk.read((long) chunk * CHUNK, back);
                assertThat(back.array()).as("chunk %d", chunk).isEqualTo(pattern(chunk, CHUNK));
            }
        }
        Qemu.assertClean(image);
        List<Map<String, Object>> map = QemuMap.parse(Qemu.run("qemu-img", "map", "--output=json", image.toString())
                .assertSuccess().stdout());
        for (int chunk = 0; chunk < chunks; chunk++) {
            long start = (long) chunk * CHUNK;
            List<Map<String, Object>> covering = map.stream()
                    .filter(e -> start < start(e) + length(e) && start(e) < start + CHUNK).toList();
            assertThat(covering).as("qemu-img map over chunk %d: one host range", chunk).hasSize(1);
            assertThat(covering.getFirst()).containsKey("offset");
        }
    }

    @Test
    void aRunOverClustersOfEveryKindWritesTheBytesAndKeepsTheImageClean() throws Exception {
        Path base = dir.resolve("base.img");
        byte[] baseBytes = pattern(99, 16 * CLUSTER);
        Files.write(base, baseBytes);
        Path image = dir.resolve("mixed.qcow2");
        // From qemu-img: clusters 0-11 compressed, 12-15 (zeroes) unallocated, over the backing file.
        Path seed = dir.resolve("seed.img");
        byte[] seedBytes = pattern(7, 16 * CLUSTER);
        java.util.Arrays.fill(seedBytes, 12 * CLUSTER, 16 * CLUSTER, (byte) 0);
        Files.write(seed, seedBytes);
        Qemu.run("qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=" + CLUSTER,
                seed.toString(), image.toString()).assertSuccess();
        Qemu.run("qemu-img", "rebase", "-u", "-f", "qcow2", "-b", "base.img", "-F", "raw", image.toString())
                .assertSuccess();
        try (Qcow2Image disk = Qcow2Image.open(image, false, ImageOpener.BACKING_FILES)) {
            disk.trim(4L * CLUSTER, 8L * CLUSTER, false);                              // 4-11: zero, no host
            disk.write(4L * CLUSTER, ByteBuffer.wrap(pattern(1, CLUSTER)), false);     // 4: own data
            disk.zero(5L * CLUSTER, CLUSTER, new ZeroFlags(true, false, false));      // 5: zero, host kept
            disk.write(8L * CLUSTER, ByteBuffer.wrap(pattern(2, 2 * CLUSTER)), false); // 8-9: own data
            disk.flush();
        }
        byte[] written = pattern(3, 12 * CLUSTER);
        try (Qcow2Image disk = Qcow2Image.open(image, false, ImageOpener.BACKING_FILES)) {
            disk.write(2L * CLUSTER, ByteBuffer.wrap(written), false); // clusters 2-13 in one call
            disk.flush();
            ByteBuffer back = ByteBuffer.allocate(16 * CLUSTER);
            disk.read(0, back);
            byte[] expected = seedBytes.clone();
            System.arraycopy(written, 0, expected, 2 * CLUSTER, written.length);
            System.arraycopy(baseBytes, 14 * CLUSTER, expected, 14 * CLUSTER, 2 * CLUSTER);
            assertThat(back.array()).isEqualTo(expected);
        }
        Qemu.assertClean(image);
    }

    @Test
    void aRunRefusedAtTheCapClaimsNothing() throws IOException {
        Path image = dir.resolve("capped.qcow2");
        Qcow2Image.create(image, 64L << 20, Optional.empty(), CLUSTER);
        long cap = 1L << 20;
        int fitted;
        try (Qcow2Image disk = Qcow2Image.open(image, cap)) {
            // a run of 32 clusters cannot fit in 1 MiB with the metadata
            assertThatThrownBy(() -> disk.write(0, ByteBuffer.wrap(pattern(5, 32 * CLUSTER)), false))
                    .isInstanceOfSatisfying(DeviceException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENOSPC));
            disk.flush();
            ByteBuffer back = ByteBuffer.allocate(32 * CLUSTER);
            disk.read(0, back);
            assertThat(back.array()).as("a refused write changes nothing").isEqualTo(new byte[32 * CLUSTER]);
            // every cluster the refused run claimed is free again: single clusters fill the same room
            for (fitted = 0; fitted < 32; fitted++) {
                try {
                    disk.write((long) fitted * CLUSTER, ByteBuffer.wrap(pattern(fitted, CLUSTER)), false);
                } catch (DeviceException e) {
                    assertThat(e.errno()).isEqualTo(Errno.ENOSPC);
                    break;
                }
            }
            disk.flush();
        }
        assertThat(fitted).as("clusters written one by one after the refusal").isGreaterThan(8);
        assertThat(Files.size(image)).isLessThanOrEqualTo(cap);
        Qemu.assertClean(image);
    }

    private static long start(Map<String, Object> entry) {
        return ((Number) entry.get("start")).longValue();
    }

    private static long length(Map<String, Object> entry) {
        return ((Number) entry.get("length")).longValue();
    }

    /** Bytes that differ from one chunk to the next and are never all zeroes. */
    private static byte[] pattern(int seed, int length) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        bytes[0] = 1;
        return bytes;
    }
}
