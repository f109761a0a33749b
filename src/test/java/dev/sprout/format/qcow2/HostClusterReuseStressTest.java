package dev.sprout.format.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.block.ZeroFlags;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Host clusters freed by one guest cluster and reused by another while other threads read, write,
 * zero and ask for extents: every writer owns its own guest clusters and checks each read and
 * each extents answer against its own model, while a flusher makes frees effective (and host
 * clusters reusable) all the time. Every 8-byte word written names its guest cluster, and readers
 * that own nothing read any cluster concurrently, so a mapping looked up outside the cluster's
 * lock and used after a discard, flush and reuse of that host cluster shows another cluster's name.
 */
class HostClusterReuseStressTest {

    private static final int CLUSTER = 512;
    private static final int CLUSTERS = 96;
    private static final int THREADS = 6;
    private static final int READERS = 3;
    private static final int OPERATIONS = 6000;

    /** On tmpfs where there is one, so a flush costs microseconds and host clusters are reused all the time. */
    @TempDir(factory = MemoryTempDirs.class)
    Path dir;

    @ParameterizedTest(name = "zero with NO_HOLE {0}")
    @ValueSource(booleans = {false, true})
    void readsAndExtentsNeverSeeAnotherClustersBytes(boolean noHole) throws Exception {
        long seed = System.nanoTime();
        Path image = dir.resolve("reuse.qcow2");
        Qcow2Image.create(image, (long) CLUSTERS * CLUSTER, Optional.empty(), CLUSTER);
        byte[] model = new byte[CLUSTERS * CLUSTER];
        AtomicBoolean done = new AtomicBoolean();
        try (BlockDevice device = Qcow2Image.open(image, false);
             ExecutorService threads = Executors.newCachedThreadPool()) {
            Future<?> flusher = threads.submit(() -> {
                while (!done.get()) {
                    device.flush();
                }
                return null;
            });
            List<Future<?>> readers = new ArrayList<>();
            for (int r = 0; r < READERS; r++) {
                Random random = new Random(seed - r - 1);
                readers.add(threads.submit(() -> {
                    while (!done.get()) {
                        readAnyCluster(device, random, seed);
                    }
                    return null;
                }));
            }
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int owner = t;
                workers.add(threads.submit(() -> {
                    work(device, model, owner, new Random(seed + owner), noHole, seed);
                    return null;
                }));
            }
            try {
                for (Future<?> w : workers) {
                    w.get();
                }
            } finally {
                done.set(true);
                flusher.get();
                for (Future<?> r : readers) {
                    r.get();
                }
            }
        }
        Qemu.assertClean(image);
        try (BlockDevice reopened = Qcow2Image.open(image, true)) {
            ByteBuffer all = ByteBuffer.allocate(model.length);
            reopened.read(0, all);
            assertThat(all.array()).as("seed %d: content after reopening", seed).isEqualTo(model);
        }
    }

    /** Words that name their guest cluster and the operation that wrote them. */
    private static byte[] stamped(long cluster, int generation, int length) {
        ByteBuffer words = ByteBuffer.allocate(length);
        while (words.hasRemaining()) {
            words.putLong(cluster << 32 | (generation + 1));
        }
        return words.array();
    }

    /** Reads a cluster someone else owns: every word is zero or names that cluster. */
    private static void readAnyCluster(BlockDevice device, Random random, long seed) throws Exception {
        long cluster = random.nextInt(CLUSTERS);
        ByteBuffer got = ByteBuffer.allocate(CLUSTER);
        device.read(cluster * CLUSTER, got);
        got.flip();
        while (got.hasRemaining()) {
            long word = got.getLong();
            assertThat(word == 0 || word >>> 32 == cluster)
                    .as("seed %d: cluster %d read word %x, which another cluster wrote", seed, cluster, word).isTrue();
        }
    }

    /** Random operations on the clusters {@code cluster % THREADS == owner}, each checked against the model. */
    private static void work(BlockDevice device, byte[] model, int owner, Random random, boolean noHole, long seed)
            throws Exception {
        for (int i = 0; i < OPERATIONS; i++) {
            long cluster = owner + (long) THREADS * random.nextInt(CLUSTERS / THREADS);
            int start = (int) cluster * CLUSTER;
            int within = random.nextBoolean() ? 0 : 8 * random.nextInt(CLUSTER / 8);
            int length = random.nextBoolean() ? CLUSTER - within : 8 + 8 * random.nextInt((CLUSTER - within) / 8);
            switch (random.nextInt(6)) {
                case 0, 1 -> {
                    byte[] data = stamped(cluster, i, length);
                    device.write(start + within, ByteBuffer.wrap(data), false);
                    System.arraycopy(data, 0, model, start + within, length);
                }
                case 2 -> {
                    device.zero(start + within, length, new ZeroFlags(noHole, false, false));
                    Arrays.fill(model, start + within, start + within + length, (byte) 0);
                }
                case 3 -> {
                    device.trim(start, CLUSTER, false);
                    Arrays.fill(model, start, start + CLUSTER, (byte) 0);
                }
                case 4 -> {
                    ByteBuffer got = ByteBuffer.allocate(CLUSTER);
                    device.read(start, got);
                    assertThat(got.array()).as("seed %d: read of cluster %d", seed, cluster)
                            .isEqualTo(Arrays.copyOfRange(model, start, start + CLUSTER));
                }
                default -> {
                    for (Extent e : device.extents(start, CLUSTER)) {
                        if (e.zero()) {
                            byte[] zeroes = new byte[(int) e.length()];
                            assertThat(Arrays.copyOfRange(model, (int) e.offset(), (int) e.end()))
                                    .as("seed %d: extent %s of cluster %d", seed, e, cluster).isEqualTo(zeroes);
                        }
                    }
                }
            }
        }
    }
}
