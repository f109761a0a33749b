package dev.sprout.layer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.backend.PatternBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockDeviceContract;
import dev.sprout.block.Capabilities;
import dev.sprout.block.Extent;
import dev.sprout.block.ZeroFlags;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The overlay over a read-only pattern (64 KiB blocks in memory), and in the nested classes over
 * a zeroed read-only memory device, with 512-byte blocks, and with its store in a temporary file.
 */
class CopyOnWriteDeviceTest extends BlockDeviceContract {

    private static final int BLOCK = CopyOnWriteDevice.DEFAULT_BLOCK;

    @TempDir
    Path tmp;

    @Override
    protected BlockDevice newDevice(long size) throws IOException {
        return cow(new PatternBlockDevice(size), "");
    }

    @Override
    protected boolean startsZeroed() {
        return false;
    }

    static BlockDevice cow(BlockDevice lower, String parameters) throws IOException {
        return LayerCatalog.wrap("cow" + (parameters.isEmpty() ? "" : ":" + parameters), lower);
    }

    /** A read-only memory device of {@code size} bytes holding {@code content} from offset 0. */
    static BlockDevice readOnlyMemory(long size, byte[] content) throws IOException {
        MemoryBlockDevice memory = MemoryBlockDevice.create(size);
        memory.write(0, ByteBuffer.wrap(content), false);
        return new ReadOnlyDevice(memory);
    }

    @Nested
    class OverZeroes extends BlockDeviceContract {
        @Override
        protected BlockDevice newDevice(long size) throws IOException {
            return cow(new ReadOnlyDevice(MemoryBlockDevice.create(size)), "");
        }
    }

    @Nested
    class WithSmallBlocks extends BlockDeviceContract {
        @Override
        protected BlockDevice newDevice(long size) throws IOException {
            return cow(new PatternBlockDevice(size), "block=512");
        }

        @Override
        protected boolean startsZeroed() {
            return false;
        }
    }

    @Nested
    class InATemporaryFile extends BlockDeviceContract {
        @Override
        protected BlockDevice newDevice(long size) throws IOException {
            return cow(new PatternBlockDevice(size), "tmp=" + tmp + ",block=4K");
        }

        @Override
        protected boolean startsZeroed() {
            return false;
        }
    }

    @Test
    void isNonBlockingOnlyWhenItsStoreInMemoryAndTheDeviceBelowAre() throws IOException {
        try (BlockDevice inMemory = cow(new PatternBlockDevice(SIZE), "");
             BlockDevice inFile = cow(new PatternBlockDevice(SIZE), "tmp=" + tmp)) {
            assertThat(inMemory.nonBlocking()).isTrue();
            assertThat(inFile.nonBlocking()).as("a temporary file may wait for the disk").isFalse();
        }
    }

    @Test
    void isWritableOverAReadOnlyDeviceAndPromisesNoDurability() throws IOException {
        try (BlockDevice device = newDevice(SIZE)) {
            Capabilities caps = device.capabilities();
            assertThat(caps.writable()).isTrue();
            assertThat(caps.flush()).as("flush has no effect").isFalse();
            assertThat(caps.fua()).isFalse();
            assertThat(caps.extents()).isTrue();
            assertThat(caps.blockSizes().preferred()).isEqualTo(BLOCK);
            assertThat(device).hasToString("CopyOnWrite(Pattern(1M))");
        }
    }

    @Test
    void neverWritesBelowAndLeavesTheLowerContentAsItWas() throws IOException {
        byte[] base = randomBytes((int) SIZE, 20);
        BlockDevice lower = readOnlyMemory(SIZE, base);
        try (BlockDevice device = cow(lower, "")) {
            write(device, 100, randomBytes(200_000, 21));
            device.zero(300_000, 200_000, ZeroFlags.PUNCH);
            device.trim(0, SIZE, false);
            write(device, SIZE - 5, randomBytes(5, 22));
            device.flush();
            assertThat(read(lower, 0, (int) SIZE)).isEqualTo(base);
        }
    }

    @Test
    void zeroedBlocksReadZeroesInsteadOfTheLowerData() throws IOException {
        try (BlockDevice device = newDevice(SIZE)) {
            device.zero(BLOCK, 2L * BLOCK, ZeroFlags.PUNCH);
            assertThat(firstNonZero(read(device, BLOCK, 2 * BLOCK))).isEqualTo(-1);
            byte[] data = randomBytes(10, 23);
            write(device, BLOCK + 1000, data);
            byte[] block = read(device, BLOCK, BLOCK);
            assertThat(Arrays.copyOfRange(block, 1000, 1010)).isEqualTo(data);
            Arrays.fill(block, 1000, 1010, (byte) 0);
            assertThat(firstNonZero(block)).as("the rest of a zeroed block after a small write").isEqualTo(-1);
            assertThat(read(device, 0, BLOCK)).as("the block before, untouched").isEqualTo(read(new PatternBlockDevice(SIZE), 0, BLOCK));
        }
    }

    @Test
    void partialWritesCopyTheRestOfTheBlockFromBelow() throws IOException {
        try (BlockDevice pattern = new PatternBlockDevice(SIZE); BlockDevice device = newDevice(SIZE)) {
            write(device, 3 * BLOCK + 17, new byte[] {1, 2, 3});
            byte[] expected = read(pattern, 3 * BLOCK, BLOCK);
            expected[17] = 1;
            expected[18] = 2;
            expected[19] = 3;
            assertThat(read(device, 3 * BLOCK, BLOCK)).isEqualTo(expected);
        }
    }

    @Test
    void aTrimCoveringUntouchedBlocksInPartLeavesThemAsBelow() throws IOException {
        try (BlockDevice pattern = new PatternBlockDevice(SIZE); BlockDevice device = newDevice(SIZE)) {
            device.trim(BLOCK / 2, 2L * BLOCK, false);
            byte[] after = read(device, 0, 3 * BLOCK);
            byte[] before = read(pattern, 0, 3 * BLOCK);
            assertThat(Arrays.copyOfRange(after, 0, BLOCK)).isEqualTo(Arrays.copyOfRange(before, 0, BLOCK));
            assertThat(firstNonZero(Arrays.copyOfRange(after, BLOCK, 2 * BLOCK))).as("the block trimmed whole").isEqualTo(-1);
            assertThat(Arrays.copyOfRange(after, 2 * BLOCK, 3 * BLOCK)).isEqualTo(Arrays.copyOfRange(before, 2 * BLOCK, 3 * BLOCK));
        }
    }

    @Test
    void extentsMergeTheOverlayWithTheHolesBelow() throws IOException {
        byte[] base = new byte[(int) SIZE];
        Arrays.fill(base, 4 * BLOCK, 6 * BLOCK, (byte) 7);  // lower data in blocks 4 and 5, holes elsewhere
        try (BlockDevice device = cow(readOnlyMemory(SIZE, base), "")) {
            write(device, BLOCK + 5, new byte[] {9});            // block 1 copied up: data
            device.zero(5 * BLOCK, BLOCK, ZeroFlags.PUNCH);      // block 5 zeroed over lower data
            device.zero(8 * BLOCK, 2L * BLOCK, ZeroFlags.PUNCH); // blocks 8-9 zeroed over a hole
            assertThat(device.extents(0, SIZE)).containsExactly(
                    Extent.unallocated(0, BLOCK),
                    Extent.data(BLOCK, BLOCK),
                    Extent.unallocated(2L * BLOCK, 2L * BLOCK),
                    Extent.data(4L * BLOCK, BLOCK),
                    Extent.zeroes(5L * BLOCK, BLOCK),
                    Extent.unallocated(6L * BLOCK, 2L * BLOCK),
                    Extent.zeroes(8L * BLOCK, 2L * BLOCK),
                    Extent.unallocated(10L * BLOCK, SIZE - 10L * BLOCK));
            assertThat(device.extents(BLOCK + 3, 10)).containsExactly(Extent.data(BLOCK + 3, 10));
            assertThat(device.extents(5L * BLOCK - 1, 3)).containsExactly(
                    Extent.data(5L * BLOCK - 1, 1), Extent.zeroes(5L * BLOCK, 2));
        }
    }

    @Test
    void theLargestDeviceCostsNothingUntilWrittenAndReportsExtentsAtOnce() throws IOException {
        long size = Long.MAX_VALUE;
        try (BlockDevice device = cow(new ReadOnlyDevice(MemoryBlockDevice.create(size)), "")) {
            assertThat(device.extents(0, size)).containsExactly(Extent.unallocated(0, size));
            write(device, size - 3, new byte[] {1, 2, 3});
            device.zero(1L << 62, 1L << 36, ZeroFlags.PUNCH);
            assertThat(read(device, size - 4, 4)).containsExactly(0, 1, 2, 3);
            long lastBlock = (size - 1) & -BLOCK;
            assertThat(device.extents(0, size)).containsExactly(
                    Extent.unallocated(0, 1L << 62),
                    Extent.zeroes(1L << 62, 1L << 36),
                    Extent.unallocated((1L << 62) + (1L << 36), lastBlock - (1L << 62) - (1L << 36)),
                    Extent.data(lastBlock, size - lastBlock));
        }
    }

    @Test
    void concurrentSmallWritesIntoOneUntouchedBlockAreAllKept() throws Exception {
        int threads = 16;
        int slice = BLOCK / threads;
        try (BlockDevice pattern = new PatternBlockDevice(SIZE); BlockDevice device = newDevice(SIZE);
             ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            for (int block = 0; block < SIZE / BLOCK; block++) {
                long base = (long) block * BLOCK;
                CountDownLatch start = new CountDownLatch(1);
                List<Future<?>> results = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    long offset = base + (long) t * slice + 1;
                    byte[] data = randomBytes(slice - 2, 1000 * block + t);
                    results.add(pool.submit(() -> {
                        start.await();
                        write(device, offset, data);
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> result : results) {
                    result.get();
                }
                byte[] expected = read(pattern, base, BLOCK);
                for (int t = 0; t < threads; t++) {
                    System.arraycopy(randomBytes(slice - 2, 1000 * block + t), 0, expected, t * slice + 1, slice - 2);
                }
                assertThat(read(device, base, BLOCK)).as("block %d", block).isEqualTo(expected);
            }
        }
    }

    @Test
    void theTemporaryFileIsGoneAsSoonAsItIsOpen() throws IOException {
        try (BlockDevice device = cow(new PatternBlockDevice(SIZE), "tmp=" + tmp)) {
            write(device, 0, randomBytes(100_000, 24));
            try (var files = Files.list(tmp)) {
                assertThat(files).isEmpty();
            }
            assertThat(read(device, 0, 100_000)).isEqualTo(randomBytes(100_000, 24));
        }
    }

    @Test
    void refusesBadParameters() {
        BlockDevice lower = new PatternBlockDevice(SIZE);
        for (String size : List.of("3000", "256", "2M", "0")) {
            assertThatIllegalArgumentException().isThrownBy(() -> cow(lower, "block=" + size))
                    .withMessage("layer 'cow': invalid block='" + size + "'; expected a power of two from 512 to 1M");
        }
        assertThatIllegalArgumentException().isThrownBy(() -> cow(lower, "block=lots"))
                .withMessage("layer 'cow': invalid block='lots'; expected a size such as 4096 or 64K");
        assertThatIllegalArgumentException().isThrownBy(() -> cow(lower, "size=1G"))
                .withMessage("layer 'cow': unknown parameter 'size'; accepted: block, overlay, tmp");
        assertThatIllegalArgumentException().isThrownBy(() -> cow(lower, "tmp=" + tmp.resolve("missing")))
                .withMessageStartingWith("layer 'cow': cannot create the overlay file in tmp=" + tmp.resolve("missing"));
    }
}
