package dev.sprout.format.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.block.ZeroFlags;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * WRITE_ZEROES with NO_HOLE keeps clusters allocated: whole clusters become zero clusters that
 * keep their host cluster (qemu-img map: zero, not data, with an offset), parts are written with
 * zeroes, and the next write fills the same host cluster.
 */
class NoHoleZeroTest {

    private static final int CLUSTER = 65536;
    private static final ZeroFlags NO_HOLE = new ZeroFlags(true, false, false);

    @TempDir
    Path dir;

    @Test
    void wholeClustersKeepTheirHostClusterAndTheNextWriteReusesIt() throws Exception {
        Path image = dir.resolve("nohole.qcow2");
        Qcow2Image.create(image, 8L * CLUSTER, Optional.empty(), CLUSTER);
        try (BlockDevice device = Qcow2Image.open(image, false)) {
            device.write(0, ByteBuffer.wrap(filled(2 * CLUSTER, 7)), false);
            device.zero(0, 2 * CLUSTER, NO_HOLE);
            device.zero(4L * CLUSTER, CLUSTER, NO_HOLE);
            device.flush();
            assertThat(device.extents(0, 8L * CLUSTER)).containsExactly(
                    Extent.zeroes(0, 2 * CLUSTER), Extent.unallocated(2 * CLUSTER, 2 * CLUSTER),
                    Extent.zeroes(4L * CLUSTER, CLUSTER), Extent.unallocated(5L * CLUSTER, 3L * CLUSTER));
            assertThat(read(device, 0, 2 * CLUSTER)).isEqualTo(new byte[2 * CLUSTER]);
        }
        Qemu.assertClean(image);
        List<Map<String, Object>> zeroed = map(image);
        assertThat(zeroed.getFirst()).containsEntry("zero", true).containsEntry("data", false).containsKey("offset");
        long host = ((Number) zeroed.getFirst().get("offset")).longValue();
        try (BlockDevice device = Qcow2Image.open(image, false)) {
            device.write(100, ByteBuffer.wrap(filled(10, 9)), false);
            byte[] expected = new byte[CLUSTER];
            System.arraycopy(filled(10, 9), 0, expected, 100, 10);
            assertThat(read(device, 0, CLUSTER)).isEqualTo(expected);
        }
        Qemu.assertClean(image);
        assertThat(map(image).getFirst()).containsEntry("data", true).containsEntry("offset", host);
    }

    @Test
    void partialClustersAreWrittenWithZeroesSoTheyStayAllocated() throws Exception {
        Path image = dir.resolve("partial.qcow2");
        Qcow2Image.create(image, 4L * CLUSTER, Optional.empty(), CLUSTER);
        try (BlockDevice device = Qcow2Image.open(image, false)) {
            device.zero(1000, 5000, NO_HOLE);
            device.zero(CLUSTER + 10, 10, ZeroFlags.PUNCH);
            assertThat(device.extents(0, 2L * CLUSTER)).containsExactly(
                    Extent.data(0, CLUSTER), Extent.unallocated(CLUSTER, CLUSTER));
            assertThat(read(device, 0, CLUSTER)).isEqualTo(new byte[CLUSTER]);
        }
        Qemu.assertClean(image);
    }

    private List<Map<String, Object>> map(Path image) throws Exception {
        return QemuMap.parse(Qemu.run("qemu-img", "map", "-f", "qcow2", "--output=json", image.toString())
                .assertSuccess().stdout());
    }

    private static byte[] filled(int length, int value) {
        byte[] bytes = new byte[length];
        java.util.Arrays.fill(bytes, (byte) value);
        return bytes;
    }

    private static byte[] read(BlockDevice device, long offset, int length) throws Exception {
        ByteBuffer bytes = ByteBuffer.allocate(length);
        device.read(offset, bytes);
        return bytes.array();
    }
}
