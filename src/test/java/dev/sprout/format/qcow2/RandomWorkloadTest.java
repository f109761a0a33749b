package dev.sprout.format.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.block.ZeroFlags;
import dev.sprout.tool.ImageOpener;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Images sprout wrote through a seeded random workload of writes, zeroes, trims and flushes from
 * several threads pass {@code qemu-img check} and compare identical to a raw file given the same
 * workload; {@code qemu-img map} agrees with sprout's extents.
 */
class RandomWorkloadTest {

    private static final long SIZE = 24 << 20;
    private static final int THREADS = 4;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "cluster {0}, backing {1}")
    @CsvSource({"65536, false", "512, false", "4096, true", "2097152, true", "65536, true"})
    void workloadLeavesACleanImageWithTheReferenceContent(int clusterSize, boolean withBacking) throws Exception {
        long seed = System.nanoTime();
        Path reference = dir.resolve("reference.img");
        Path image = dir.resolve("image.qcow2");
        Optional<Qcow2Image.Backing> backing = Optional.empty();
        if (withBacking) {
            Path base = QemuImagesTest.truth(dir.resolve("base.img"), seed);
            java.nio.file.Files.copy(base, reference);
            backing = Optional.of(new Qcow2Image.Backing("base.img", "raw"));
        }
        try (RandomAccessFile raf = new RandomAccessFile(reference.toFile(), "rw")) {
            raf.setLength(SIZE);
        }
        Qcow2Image.create(image, SIZE, backing, clusterSize);
        try (BlockDevice device = Qcow2Image.open(image, false, ImageOpener.BACKING_FILES);
             RandomAccessFile ref = new RandomAccessFile(reference.toFile(), "rw");
             ExecutorService threads = Executors.newFixedThreadPool(THREADS)) {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                long region = SIZE / THREADS;
                long start = t * region;
                Random random = new Random(seed + t);
                done.add(threads.submit(() -> {
                    workload(device, ref, random, start, region);
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            assertMapAgrees(device, image);
        }
        Qemu.assertClean(image);
        Qemu.Result compare = Qemu.run("qemu-img", "compare", "-f", "qcow2", "-F", "raw", image.toString(), reference.toString());
        assertThat(compare.exitCode()).as("seed %d: %s", seed, compare).isZero();
    }

    private static void workload(BlockDevice device, RandomAccessFile ref, Random random, long start, long region)
            throws IOException {
        for (int i = 0; i < 300; i++) {
            long offset = start + random.nextLong(region - 1);
            int length = (int) Math.min(start + region - offset, 1 + random.nextInt(random.nextBoolean() ? 5000 : 300_000));
            int op = random.nextInt(10);
            byte[] data = new byte[length];
            if (op < 6) {
                random.nextBytes(data);
                device.write(offset, ByteBuffer.wrap(data), random.nextInt(20) == 0);
            } else if (op < 8) {
                device.zero(offset, length, new ZeroFlags(random.nextBoolean(), false, random.nextInt(10) == 0));
            } else if (op < 9) {
                device.trim(offset, length, false);
            } else {
                device.flush();
                continue;
            }
            synchronized (ref) {
                ref.seek(offset);
                ref.write(data);
            }
        }
    }

    /** qemu-img map's data/zero runs match extents(), comparing byte by byte status. */
    private static void assertMapAgrees(BlockDevice device, Path image) throws IOException {
        device.flush();
        List<Extent> ours = QemuImagesTest.allExtents(device);
        // -U: the image is open here, and sprout holds QEMU's writer lock on it.
        List<Map<String, Object>> theirs = QemuMap.parse(
                Qemu.run("qemu-img", "map", "-U", "-f", "qcow2", "--output=json", image.toString()).assertSuccess().stdout());
        for (Map<String, Object> e : theirs) {
            long s = ((Number) e.get("start")).longValue();
            long len = ((Number) e.get("length")).longValue();
            boolean data = (Boolean) e.get("data");
            boolean zero = (Boolean) e.get("zero");
            for (Extent x : ours) {
                long from = Math.max(s, x.offset());
                long to = Math.min(s + len, x.end());
                if (from < to) {
                    // qemu's data is "not known to read as zeroes": allocated zero clusters are not data.
                    assertThat(!x.zero()).as("data at %d+%d (qemu %s, ours %s)", from, to - from, e, x)
                            .isEqualTo(data);
                    if (zero && !data) {
                        assertThat(x.zero()).as("zero at %d (qemu %s, ours %s)", from, e, x).isTrue();
                    }
                }
            }
        }
    }
}
