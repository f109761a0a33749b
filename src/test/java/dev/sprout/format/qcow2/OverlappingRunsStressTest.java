package dev.sprout.format.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.ZeroFlags;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writes of many whole clusters at once, overlapping each other, partial writes, zeroes, trims,
 * large reads and flushes, all at the same time over an image of more clusters than
 * {@link ClusterLocks} has stripes, so that runs of clusters wrap around the stripes and share
 * them: nothing deadlocks, every 8-byte word ever read is either zero or names its own guest
 * offset (no cluster ever shows another's bytes), and the image ends clean.
 */
class OverlappingRunsStressTest {

    private static final int CLUSTER = 512;
    private static final int CLUSTERS = 3000;
    private static final long SIZE = (long) CLUSTERS * CLUSTER;
    private static final int WRITERS = 4;
    private static final int READERS = 2;
    private static final int OPERATIONS = 400;

    @TempDir(factory = MemoryTempDirs.class)
    Path dir;

    @Test
    void overlappingRunsNeverDeadlockNorMixUpClusters() throws Exception {
        long seed = System.nanoTime();
        Path image = dir.resolve("runs.qcow2");
        Qcow2Image.create(image, SIZE, Optional.empty(), CLUSTER);
        AtomicBoolean writing = new AtomicBoolean(true);
        // Daemon threads, never awaited: threads in a deadlock cannot be stopped, and waiting for
        // them would hang the test run instead of failing it.
        ExecutorService threads = Executors.newCachedThreadPool(Thread.ofPlatform().daemon().factory());
        try (BlockDevice device = Qcow2Image.open(image, false)) {
            List<Future<?>> writers = new ArrayList<>();
            for (int w = 0; w < WRITERS; w++) {
                Random random = new Random(seed + w);
                int id = w + 1;
                writers.add(threads.submit(() -> {
                    for (int i = 0; i < OPERATIONS; i++) {
                        change(device, random, id);
                    }
                    return null;
                }));
            }
            List<Future<?>> others = new ArrayList<>();
            for (int r = 0; r < READERS; r++) {
                Random random = new Random(seed - r - 1);
                others.add(threads.submit(() -> {
                    while (writing.get()) {
                        long offset = 8L * random.nextLong(SIZE / 8);
                        int length = (int) Math.min(SIZE - offset, 8 + 8L * random.nextInt(150_000));
                        assertWordsNameTheirOffsets(device, offset, length, seed);
                    }
                    return null;
                }));
            }
            others.add(threads.submit(() -> {
                while (writing.get()) {
                    device.flush();
                    Thread.sleep(1);
                }
                return null;
            }));
            try {
                for (Future<?> writer : writers) {
                    writer.get(60, TimeUnit.SECONDS); // a deadlock fails here instead of hanging
                }
            } finally {
                writing.set(false);
            }
            for (Future<?> other : others) {
                other.get(60, TimeUnit.SECONDS);
            }
            device.flush();
            assertWordsNameTheirOffsets(device, 0, (int) SIZE, seed);
        } finally {
            threads.shutdownNow();
        }
        Qemu.assertClean(image);
    }

    /** One random write (often of many whole clusters), zero or trim. */
    private static void change(BlockDevice device, Random random, int id) throws Exception {
        boolean aligned = random.nextBoolean();
        long offset = aligned ? (long) CLUSTER * random.nextInt(CLUSTERS) : 8L * random.nextLong(SIZE / 8);
        long length = Math.min(SIZE - offset, aligned ? (long) CLUSTER * (1 + random.nextInt(1500))
                : 8 + 8L * random.nextInt(100_000));
        switch (random.nextInt(5)) {
            case 0, 1, 2 -> device.write(offset, stamped(offset, (int) length, id), false);
            case 3 -> device.zero(offset, length, new ZeroFlags(random.nextBoolean(), false, false));
            default -> device.trim(offset, length, false);
        }
    }

    /** Words each holding their guest offset and the writer's id. */
    private static ByteBuffer stamped(long offset, int length, int id) {
        ByteBuffer bytes = ByteBuffer.allocate(length);
        for (int at = 0; at < length; at += 8) {
            bytes.putLong(at, (offset + at) << 8 | id);
        }
        return bytes;
    }

    private static void assertWordsNameTheirOffsets(BlockDevice device, long offset, int length, long seed)
            throws Exception {
        ByteBuffer bytes = ByteBuffer.allocate(length);
        device.read(offset, bytes);
        for (int at = 0; at < length; at += 8) {
            long word = bytes.getLong(at);
            if (word != 0 && word >>> 8 != offset + at) {
                throw new AssertionError("seed " + seed + ": the word at " + (offset + at) + " names offset "
                        + (word >>> 8) + " (writer " + (word & 0xff) + ")");
            }
        }
        assertThat(bytes.position()).isEqualTo(length);
    }
}
