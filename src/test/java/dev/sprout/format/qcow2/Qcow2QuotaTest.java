package dev.sprout.format.qcow2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** max-size: writes fail with ENOSPC at the cap, the image stays valid, and trimmed space is written again. */
class Qcow2QuotaTest {

    private static final int CLUSTER = 65536;
    private static final long CAP = 2L << 20;

    @TempDir
    Path dir;

    @Test
    void fillsToTheCapThenReusesTrimmedSpace() throws IOException {
        Path image = dir.resolve("capped.qcow2");
        Qcow2Image.create(image, 64L << 20, Optional.empty(), CLUSTER);
        int written = 0;
        try (Qcow2Image disk = Qcow2Image.open(image, CAP)) {
            while (true) {
                ByteBuffer data = ByteBuffer.wrap(filled(written));
                try {
                    disk.write((long) written * CLUSTER, data, false);
                } catch (DeviceException e) {
                    assertThat(e.errno()).isEqualTo(Errno.ENOSPC);
                    break;
                }
                written++;
                assertThat(written).as("the cap must stop the writes").isLessThan(64);
            }
            disk.flush();
            assertThat(written).isGreaterThan(20);
            assertThat(Files.size(image)).isLessThanOrEqualTo(CAP);
            int failed = written;
            assertThatThrownBy(() -> disk.write((long) failed * CLUSTER, ByteBuffer.wrap(filled(failed)), false))
                    .isInstanceOf(DeviceException.class).hasMessageContaining("max-size");
        }
        Qemu.assertClean(image);
        try (Qcow2Image disk = Qcow2Image.open(image, CAP)) {
            disk.trim(0, 8L * CLUSTER, false);
            disk.flush();
            for (int i = 0; i < 8; i++) {
                disk.write((long) (40 + i) * CLUSTER, ByteBuffer.wrap(filled(40 + i)), false);
            }
            disk.flush();
            assertThat(Files.size(image)).isLessThanOrEqualTo(CAP);
            ByteBuffer back = ByteBuffer.allocate(CLUSTER);
            disk.read(45L * CLUSTER, back);
            assertThat(back.array()).isEqualTo(filled(45));
            back.clear();
            disk.read(10L * CLUSTER, back);
            assertThat(back.array()).isEqualTo(filled(10));
            back.clear();
            disk.read(0, back);
            assertThat(back.array()).isEqualTo(new byte[CLUSTER]);
        }
        Qemu.assertClean(image);
    }

    @Test
    void concurrentWritersNeverPassTheCap() throws Exception {
        Path image = dir.resolve("concurrent.qcow2");
        Qcow2Image.create(image, 64L << 20, Optional.empty(), 4096);
        long cap = 1L << 20;
        try (Qcow2Image disk = Qcow2Image.open(image, cap)) {
            java.util.List<Thread> threads = new java.util.ArrayList<>();
            java.util.concurrent.atomic.AtomicInteger refused = new java.util.concurrent.atomic.AtomicInteger();
            java.util.Queue<Throwable> failures = new java.util.concurrent.ConcurrentLinkedQueue<>();
            for (int t = 0; t < 8; t++) {
                java.util.Random random = new java.util.Random(t);
                threads.add(Thread.ofPlatform().start(() -> {
                    for (int i = 0; i < 200; i++) {
                        long offset = random.nextLong(64L << 20 >> 12) << 12;
                        try {
                            disk.write(offset, ByteBuffer.wrap(new byte[4096]).put(0, (byte) 1), false);
                        } catch (DeviceException e) {
                            if (e.errno() != Errno.ENOSPC) {
                                failures.add(e);
                            }
                            refused.incrementAndGet();
                        } catch (IOException | RuntimeException e) {
                            failures.add(e);
                        }
                    }
                }));
            }
            for (Thread thread : threads) {
                thread.join();
            }
            disk.flush();
            assertThat(failures).isEmpty();
            assertThat(refused.get()).isPositive();
            assertThat(Files.size(image)).isLessThanOrEqualTo(cap);
        }
        Qemu.assertClean(image);
    }

    private static byte[] filled(int cluster) {
        byte[] bytes = new byte[CLUSTER];
        Arrays.fill(bytes, (byte) (cluster + 1));
        return bytes;
    }
}
