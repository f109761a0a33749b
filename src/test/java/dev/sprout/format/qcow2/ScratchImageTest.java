package dev.sprout.format.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.block.BlockDevice;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A scratch image (a copy's new destination: metadata flushes without forcing in between) still
 * writes all its metadata: a flush makes it readable from a second opening, and once closed
 * qemu-img finds it clean and reads what was written. Whole clusters are written straight from
 * the caller's buffer, partial ones over the cluster's old content.
 */
class ScratchImageTest {

    private static final int CLUSTER = 64 * 1024;

    @TempDir
    Path dir;

    @Test
    void aFlushedScratchImageReadsBackAndIsCleanOnceClosed() throws Exception {
        Path path = dir.resolve("scratch.qcow2");
        Qcow2Image.create(path, 64L << 20, Optional.empty(), CLUSTER);
        byte[] whole = new byte[8 * CLUSTER];
        new Random(7).nextBytes(whole);
        byte[] part = new byte[1000];
        Arrays.fill(part, (byte) 0x5a);
        try (Qcow2Image image = Qcow2Image.open(path, false)) {
            image.scratch();
            image.write(3 * CLUSTER, ByteBuffer.allocateDirect(whole.length).put(whole).flip(), false);
            image.write(5 * CLUSTER + 100, ByteBuffer.wrap(part), false);
            image.write(40L << 20, ByteBuffer.wrap(part), false);
            image.flush();
            try (BlockDevice reader = Qcow2Image.open(path, true)) {
                assertThat(read(reader, 3 * CLUSTER, whole.length)).isEqualTo(expected(whole, part));
                assertThat(read(reader, 40L << 20, part.length)).isEqualTo(part);
                assertThat(read(reader, (40L << 20) + part.length, 100)).containsOnly(0);
            }
        }
        Qemu.assertClean(path);
        try (BlockDevice reopened = Qcow2Image.open(path, true)) {
            assertThat(read(reopened, 3 * CLUSTER, whole.length)).isEqualTo(expected(whole, part));
        }
    }

    /** The whole-cluster write with the partial one over it, 100 bytes into its third cluster. */
    private static byte[] expected(byte[] whole, byte[] part) {
        byte[] bytes = whole.clone();
        System.arraycopy(part, 0, bytes, 2 * CLUSTER + 100, part.length);
        return bytes;
    }

    private static byte[] read(BlockDevice device, long offset, int length) throws Exception {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        device.read(offset, buffer);
        return buffer.array();
    }
}
