package dev.sprout.tool;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.Extent;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Copy, compare and sparsify over memory devices. */
class CopyTest {

    private static final int MiB = 1 << 20;

    private static MemoryBlockDevice source() throws Exception {
        MemoryBlockDevice device = MemoryBlockDevice.create(32 * MiB);
        byte[] data = new byte[3 * MiB + 123];
        new Random(5).nextBytes(data);
        device.write(5 * MiB + 7, ByteBuffer.wrap(data), false);
        return device;
    }

    @Test
    void copiesDataOnlyAndCountsHolesAsZeroes() throws Exception {
        try (MemoryBlockDevice from = source(); MemoryBlockDevice to = MemoryBlockDevice.create(32 * MiB)) {
            Copy.Summary summary = Copy.run(from, to, new Copy.Options(4, true), new Progress(from.size(), null));
            assertThat(Compare.firstDifference(from, to)).isEmpty();
            assertThat(summary.dataBytes()).isBetween(3L * MiB, 4L * MiB + 128 * 1024);
            assertThat(summary.dataBytes() + summary.zeroBytes()).isEqualTo(32L * MiB);
        }
    }

    @Test
    void overwritingAnUsedDestinationZeroesWhatIsAHoleInTheSource() throws Exception {
        try (MemoryBlockDevice from = source(); MemoryBlockDevice to = MemoryBlockDevice.create(32 * MiB)) {
            to.write(MiB, ByteBuffer.wrap(new byte[] {1, 2, 3}), false);
            Copy.run(from, to, new Copy.Options(2, false), new Progress(from.size(), null));
            assertThat(Compare.firstDifference(from, to)).isEmpty();
        }
    }

    @Test
    void compareFindsTheFirstDifferingByteAndTreatsTheShorterTailAsZeroes() throws Exception {
        try (MemoryBlockDevice a = source(); MemoryBlockDevice b = MemoryBlockDevice.create(40 * MiB)) {
            Copy.run(a, b, new Copy.Options(8, true), new Progress(a.size(), null));
            assertThat(Compare.firstDifference(a, b)).isEmpty();
            b.write(33L * MiB + 3, ByteBuffer.wrap(new byte[] {9}), false);
            assertThat(Compare.firstDifference(a, b)).hasValue(33L * MiB + 3);
            b.write(6L * MiB, ByteBuffer.wrap(new byte[] {1}), false);
            assertThat(Compare.firstDifference(a, b)).hasValue(6L * MiB);
        }
    }

    @Test
    void sparsifyPunchesZeroBlocksOnly() throws Exception {
        try (MemoryBlockDevice device = MemoryBlockDevice.create(4 * MiB); MemoryBlockDevice copy = MemoryBlockDevice.create(4 * MiB)) {
            byte[] mostlyZero = new byte[2 * MiB];
            mostlyZero[100] = 1;
            mostlyZero[2 * MiB - 1] = 2;
            device.write(0, ByteBuffer.wrap(mostlyZero), false);
            Copy.run(device, copy, new Copy.Options(1, true), new Progress(device.size(), null));
            Sparsify.Result result = Sparsify.inPlace(device, new Progress(device.size(), null));
            assertThat(Compare.firstDifference(device, copy)).isEmpty();
            // Only the two 64 KiB pages holding data are allocated; all but their one data block each is punched.
            assertThat(result.zeroes()).isEqualTo(2L * (64 * 1024 - Sparsify.BLOCK));
            assertThat(ExtentMap.of(device)).anyMatch(Extent::zero);
        }
    }
}
