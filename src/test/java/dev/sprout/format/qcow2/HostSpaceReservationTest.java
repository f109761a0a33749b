package dev.sprout.format.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What keeps a full host disk from costing acknowledged writes (Qcow2FullDiskNbdshIT drives it on
 * a real full tmpfs): a new L2 table has host blocks before the write that needed it is answered,
 * so the flush after never needs room; a claimed cluster whose write failed is free again at once.
 */
class HostSpaceReservationTest {

    private static final int CLUSTER = 65536;

    @TempDir
    Path dir;

    @Test
    void aNewL2TableHasHostBlocksBeforeTheWriteThatNeededItIsAnswered() throws Exception {
        Path image = dir.resolve("disk.qcow2");
        Qcow2Image.create(image, 1L << 30, Optional.empty(), CLUSTER);
        long before = allocatedBytes(image);
        try (Qcow2Image disk = Qcow2Image.open(image, false)) {
            byte[] data = new byte[CLUSTER];
            Arrays.fill(data, (byte) 0x5a);
            disk.write(600L << 20, ByteBuffer.wrap(data), false);
            assertThat(allocatedBytes(image) - before).as("the data cluster and its new L2 table, before any flush")
                    .isGreaterThanOrEqualTo(2L * CLUSTER);
        }
    }

    @Test
    void anUnclaimedClusterIsFreeAtOnceAndTakenNext() throws IOException {
        Path image = dir.resolve("disk.qcow2");
        Qcow2Image.create(image, 64L << 20, Optional.empty(), CLUSTER);
        try (ImageFile file = ImageFile.open(image, true)) {
            Refcounts refcounts = new Refcounts(file, Qcow2Header.read(file.channel(), file.name()));
            long first = refcounts.allocate();
            long second = refcounts.allocate();
            assertThat(refcounts.takePlaced()).containsExactly(first / CLUSTER, second / CLUSTER);

            refcounts.unclaim(first);

            assertThat(refcounts.refcount(first / CLUSTER)).isZero();
            assertThat(refcounts.refcount(second / CLUSTER)).isEqualTo(1);
            assertThat(refcounts.allocate()).isEqualTo(first);
        }
    }

    /** Bytes the host file system gave the file, from {@code stat -c %b} (512-byte blocks). */
    private static long allocatedBytes(Path file) throws IOException, InterruptedException {
        Process stat = new ProcessBuilder("stat", "-c", "%b", file.toString()).redirectErrorStream(true).start();
        String out = new String(stat.getInputStream().readAllBytes()).strip();
        assertThat(stat.waitFor()).as("stat: %s", out).isZero();
        return Long.parseLong(out) * 512;
    }
}
