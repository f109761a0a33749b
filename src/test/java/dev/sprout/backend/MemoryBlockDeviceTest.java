package dev.sprout.backend;

import static dev.sprout.backend.MemoryBlockDevice.PAGE_SIZE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockDeviceContract;
import dev.sprout.block.ByteSize;
import dev.sprout.block.Capabilities;
import dev.sprout.block.Extent;
import dev.sprout.block.ZeroFlags;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class MemoryBlockDeviceTest extends BlockDeviceContract {

    private static final long SEVEN_EIB = 7L << 60;

    @Override
    protected BlockDevice newDevice(long size) {
        return MemoryBlockDevice.create(size);
    }

    @Test
    void offersEveryCapabilityAndNamesItsSize() {
        try (MemoryBlockDevice device = MemoryBlockDevice.create(SEVEN_EIB)) {
            assertThat(device.capabilities()).isEqualTo(Capabilities.full());
            assertThat(device).hasToString("Memory(7E)");
        }
    }

    @Test
    void rejectsNonPositiveSizes() {
        assertThatThrownBy(() -> MemoryBlockDevice.create(0)).hasMessageContaining("positive");
        assertThatThrownBy(() -> MemoryBlockDevice.create(-1)).hasMessageContaining("-1");
    }

    @Test
    void sevenExbibyteDiskCostsNothingUntilWritten() throws Exception {
        try (MemoryBlockDevice device = MemoryBlockDevice.create(SEVEN_EIB)) {
            assertThat(read(device, SEVEN_EIB - 100_000, 100_000)).containsOnly(0);
            assertThat(device.extents(0, SEVEN_EIB)).containsExactly(Extent.unallocated(0, SEVEN_EIB));
            assertThat(device.allocatedBytes()).isZero();

            write(device, SEVEN_EIB / 3, randomBytes(10, 1));
            assertThat(device.allocatedBytes()).isEqualTo(PAGE_SIZE);
        }
    }

    @Test
    void writingZeroesAllocatesNothing() throws Exception {
        try (MemoryBlockDevice device = MemoryBlockDevice.create(SEVEN_EIB)) {
            write(device, 12_345, new byte[3 * PAGE_SIZE]);
            device.write(SEVEN_EIB - 1000, ByteBuffer.allocateDirect(1000), true);
            assertThat(device.allocatedBytes()).isZero();
        }
    }

    @Test
    void keepsASingleNonZeroByteAtEitherEdgeOfEveryPageOfAWrite() throws Exception {
        try (MemoryBlockDevice device = MemoryBlockDevice.create(1 << 20)) {
            long offset = PAGE_SIZE - 100;
            for (int at : new int[] {0, 99, 100, PAGE_SIZE + 99, PAGE_SIZE + 100, 2 * PAGE_SIZE + 199}) {
                byte[] data = new byte[2 * PAGE_SIZE + 200];
                data[at] = 42;
                write(device, offset, data);
                assertThat(read(device, offset, data.length)).as("non-zero byte at %d", at).isEqualTo(data);
            }
        }
    }

    @Test
    void writingOnlyZeroesOverDataFreesTheEmptiedPages() throws Exception {
        try (MemoryBlockDevice device = MemoryBlockDevice.create(1 << 20)) {
            write(device, PAGE_SIZE - 10, randomBytes(PAGE_SIZE + 20, 2));
            assertThat(device.allocatedBytes()).isEqualTo(3L * PAGE_SIZE);
            write(device, PAGE_SIZE - 10, new byte[PAGE_SIZE + 15]);
            assertThat(device.allocatedBytes()).isEqualTo(PAGE_SIZE);
            assertThat(device.extents(0, 1 << 20)).containsExactly(Extent.unallocated(0, 2L * PAGE_SIZE),
                    Extent.data(2L * PAGE_SIZE, PAGE_SIZE), Extent.unallocated(3L * PAGE_SIZE, (1 << 20) - 3L * PAGE_SIZE));
        }
    }

    @Test
    void trimAndZeroFreeWholePagesAndPagesTheyEmpty() throws Exception {
        try (MemoryBlockDevice device = MemoryBlockDevice.create(SEVEN_EIB)) {
            long base = SEVEN_EIB - 16L * PAGE_SIZE;
            write(device, base, randomBytes(16 * PAGE_SIZE, 3));
            assertThat(device.allocatedBytes()).isEqualTo(16L * PAGE_SIZE);

            device.trim(base + 100, 4L * PAGE_SIZE, false); // frees 3 whole pages, zeroes part of 2
            assertThat(device.allocatedBytes()).isEqualTo(13L * PAGE_SIZE);
            device.zero(base, 100, new ZeroFlags(true, true, true)); // empties the first page
            assertThat(device.allocatedBytes()).isEqualTo(12L * PAGE_SIZE);
            device.zero(base + 8L * PAGE_SIZE, 8L * PAGE_SIZE, ZeroFlags.PUNCH); // to the device's end
            assertThat(device.allocatedBytes()).isEqualTo(4L * PAGE_SIZE);
            assertThat(read(device, base, 4 * PAGE_SIZE + 100)).containsOnly(0);
        }
    }

    @Test
    void partialPageAtTheEndOfAnOddSizedDeviceIsFreedWhenZeroed() throws Exception {
        long size = Long.MAX_VALUE;
        try (MemoryBlockDevice device = MemoryBlockDevice.create(size)) {
            byte[] data = randomBytes(5, 4);
            write(device, size - 5, data);
            assertThat(read(device, size - 5, 5)).isEqualTo(data);
            assertThat(read(device, size - 6, 1)).containsExactly(0);
            long lastPage = (size - 1) & -PAGE_SIZE;
            assertThat(device.extents(lastPage - 1, size - lastPage + 1)).containsExactly(
                    Extent.unallocated(lastPage - 1, 1), Extent.data(lastPage, size - lastPage));
            device.zero(size - 5, 5, ZeroFlags.PUNCH);
            assertThat(device.allocatedBytes()).isZero();
            assertThat(device.extents(size - 1, 1)).containsExactly(Extent.unallocated(size - 1, 1));
        }
    }

    @Test
    void extentsOverASevenExbibyteDiskReportExactlyTheWrittenPages() throws Exception {
        try (MemoryBlockDevice device = MemoryBlockDevice.create(SEVEN_EIB)) {
            Random random = new Random(7);
            TreeSet<Long> written = new TreeSet<>();
            while (written.size() < 1000) {
                long page = (random.nextLong() & Long.MAX_VALUE) % (SEVEN_EIB / PAGE_SIZE);
                written.add(page);
                write(device, page * PAGE_SIZE + random.nextInt(PAGE_SIZE - 8), randomBytes(8, (int) page));
            }
            List<Extent> expected = new ArrayList<>();
            long at = 0;
            for (long page : written) {
                long start = page * PAGE_SIZE;
                if (!expected.isEmpty() && expected.getLast().end() == start) {
                    Extent last = expected.removeLast();
                    expected.add(Extent.data(last.offset(), last.length() + PAGE_SIZE));
                } else {
                    if (start > at) {
                        expected.add(Extent.unallocated(at, start - at));
                    }
                    expected.add(Extent.data(start, PAGE_SIZE));
                }
                at = start + PAGE_SIZE;
            }
            expected.add(Extent.unallocated(at, SEVEN_EIB - at));

            assertThat(allExtents(device, 0, SEVEN_EIB)).isEqualTo(expected);
            assertThat(device.allocatedBytes()).isEqualTo(1000L * PAGE_SIZE);
        }
    }

    @Test
    void extentsAreClippedToTheRequestAndMergeAdjacentPages() throws Exception {
        try (MemoryBlockDevice device = MemoryBlockDevice.create(ByteSize.parse("1G"))) {
            write(device, 3L * PAGE_SIZE + 5, randomBytes(2 * PAGE_SIZE, 5)); // pages 3, 4 and 5
            assertThat(device.extents(3L * PAGE_SIZE + 7, 10)).containsExactly(Extent.data(3L * PAGE_SIZE + 7, 10));
            assertThat(device.extents(PAGE_SIZE + 1, 6L * PAGE_SIZE)).containsExactly(
                    Extent.unallocated(PAGE_SIZE + 1, 2L * PAGE_SIZE - 1),
                    Extent.data(3L * PAGE_SIZE, 3L * PAGE_SIZE),
                    Extent.unallocated(6L * PAGE_SIZE, PAGE_SIZE + 1));
        }
    }

    @Test
    void extentsStopAtTheLimitAndResumeWhereAsked() throws Exception {
        long pages = MemoryBlockDevice.MAX_EXTENTS / 2 + 10; // alternating data and holes
        try (MemoryBlockDevice device = MemoryBlockDevice.create(2 * pages * PAGE_SIZE)) {
            for (long page = 0; page < pages; page++) {
                write(device, 2 * page * PAGE_SIZE, randomBytes(1, 6));
            }
            List<Extent> first = device.extents(0, device.size());
            assertThat(first).hasSize(MemoryBlockDevice.MAX_EXTENTS);
            assertThat(allExtents(device, 0, device.size())).hasSize((int) (2 * pages));
        }
    }

    @Test
    void operationsAfterCloseReleaseMemoryAndFailWithEshutdown() throws Exception {
        MemoryBlockDevice device = MemoryBlockDevice.create(1 << 20);
        write(device, 0, randomBytes(100, 7));
        device.close();
        assertThat(device.allocatedBytes()).isZero();
        assertThatThrownBy(() -> write(device, 0, randomBytes(1, 8))).hasMessageContaining("Memory(1M) is closed");
    }
}
