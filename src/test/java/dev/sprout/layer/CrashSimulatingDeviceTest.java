package dev.sprout.layer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockDeviceContract;
import dev.sprout.block.Capabilities;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.Extent;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.block.ZeroFlags;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The crash layer: without a power cut a plain disk; its cache stays above the device below until
 * a flush or FUA; a cut loses exactly what was never flushed.
 */
class CrashSimulatingDeviceTest extends BlockDeviceContract {

    @TempDir
    Path dir;

    @Override
    protected BlockDevice newDevice(long size) throws IOException {
        return LayerCatalog.wrap("crash", MemoryBlockDevice.create(size));
    }

    /** The contract again with a cache so small that most writes force a write-back. */
    @Nested
    class WritingBackOften extends BlockDeviceContract {
        @Override
        protected BlockDevice newDevice(long size) throws IOException {
            return LayerCatalog.wrap("crash:max-pending=8K", MemoryBlockDevice.create(size));
        }
    }

    @Test
    void promisesFlushAndFuaAndNamesItsDeviceBelow() throws IOException {
        try (BlockDevice device = LayerCatalog.wrap("crash", MemoryBlockDevice.create(SIZE))) {
            assertThat(device).hasToString("CrashSimulating(Memory(1M))");
            Capabilities caps = device.capabilities();
            assertThat(caps.flush()).isTrue();
            assertThat(caps.fua()).isTrue();
            assertThat(caps.writable()).isTrue();
        }
    }

    @Test
    void changesReachTheDeviceBelowOnlyOnFlushOrFua() throws IOException {
        MemoryBlockDevice below = MemoryBlockDevice.create(SIZE);
        write(below, 0, randomBytes(200_000, 1));
        try (BlockDevice device = LayerCatalog.wrap("crash", below)) {
            byte[] model = randomBytes(200_000, 1);
            write(device, 1000, randomBytes(5000, 2));
            System.arraycopy(randomBytes(5000, 2), 0, model, 1000, 5000);
            device.zero(50_000, 10_000, new ZeroFlags(true, false, false));
            device.trim(100_000, 10_000, false);
            Arrays.fill(model, 50_000, 60_000, (byte) 0);
            Arrays.fill(model, 100_000, 110_000, (byte) 0);
            assertThat(read(device, 0, 200_000)).isEqualTo(model);
            assertThat(read(below, 0, 200_000)).as("below before the flush").isEqualTo(randomBytes(200_000, 1));
            device.flush();
            assertThat(read(below, 0, 200_000)).as("below after the flush").isEqualTo(model);

            device.write(150_000, ByteBuffer.wrap(randomBytes(100, 3)), false);
            device.write(190_000, ByteBuffer.wrap(randomBytes(100, 4)), true);
            assertThat(read(below, 150_000, 100)).as("written before a FUA write").isEqualTo(randomBytes(100, 3));
            assertThat(read(below, 190_000, 100)).as("the FUA write").isEqualTo(randomBytes(100, 4));
            device.zero(0, 10, new ZeroFlags(false, false, true));
            assertThat(read(below, 0, 10)).as("a FUA zero").containsOnly(0);
        }
    }

    @Test
    void aPowerCutLosesWhatWasNotFlushedAndFailsEverythingUntilTheTriggerGoes() throws IOException {
        Path trigger = dir.resolve("power-cut");
        MemoryBlockDevice below = MemoryBlockDevice.create(SIZE);
        try (BlockDevice device = LayerCatalog.wrap("crash:trigger=" + trigger, below)) {
            write(device, 0, randomBytes(10_000, 1));
            device.flush();
            write(device, 5000, randomBytes(10_000, 2));
            device.zero(0, 1000, ZeroFlags.PUNCH);
            write(device, 600_000, randomBytes(10_000, 3));
            Files.createFile(trigger);
            assertPowerCut(() -> read(device, 0, 10));
            assertPowerCut(() -> write(device, 0, new byte[10]));
            assertPowerCut(device::flush);
            assertPowerCut(() -> device.zero(0, 10, ZeroFlags.PUNCH));
            assertPowerCut(() -> device.trim(0, 10, true));
            assertPowerCut(() -> device.cache(0, 10));
            assertPowerCut(() -> device.extents(0, 10));
            assertThat(read(below, 0, 10_000)).as("the durable state below").isEqualTo(randomBytes(10_000, 1));
            Files.delete(trigger);

            assertThat(read(device, 0, 10_000)).as("flushed before the cut").isEqualTo(randomBytes(10_000, 1));
            assertThat(firstNonZero(read(device, 10_000, (int) SIZE - 10_000))).as("never flushed").isEqualTo(-1);
            write(device, 0, randomBytes(10, 4));
            assertThat(read(device, 0, 10)).as("working again").isEqualTo(randomBytes(10, 4));
        }
    }

    @Test
    void closingIsAPowerCutToo() throws IOException {
        MemoryBlockDevice below = MemoryBlockDevice.create(SIZE);
        BlockDevice device = LayerCatalog.wrap("crash", new UnclosableDevice(below));
        write(device, 0, randomBytes(100, 1));
        device.close();
        assertThat(firstNonZero(read(below, 0, 100))).isEqualTo(-1);
        assertThat(catchThrowable(() -> read(device, 0, 1))).isInstanceOf(DeviceException.class)
                .hasMessageContaining("closed");
    }

    @Test
    void aFullCacheIsWrittenBackWithoutAFlush() throws IOException {
        MemoryBlockDevice below = MemoryBlockDevice.create(SIZE);
        try (BlockDevice device = LayerCatalog.wrap("crash:max-pending=64K", below)) {
            write(device, 0, randomBytes(60_000, 1));
            assertThat(firstNonZero(read(below, 0, 60_000))).isEqualTo(-1);
            write(device, 60_000, randomBytes(10_000, 2));
            assertThat(read(below, 0, 60_000)).isEqualTo(randomBytes(60_000, 1));
            assertThat(read(below, 60_000, 10_000)).isEqualTo(randomBytes(10_000, 2));
        }
    }

    @Test
    void extentsShowCachedChangesOverTheDeviceBelow() throws IOException {
        MemoryBlockDevice below = MemoryBlockDevice.create(SIZE);
        write(below, 0, randomBytes(65_536, 1));
        try (BlockDevice device = LayerCatalog.wrap("crash", below)) {
            write(device, 200_000, randomBytes(1000, 2));
            write(device, 201_000, randomBytes(1000, 3));
            device.zero(1000, 2000, ZeroFlags.PUNCH);
            device.trim(202_000, 500, false);
            assertThat(device.extents(0, SIZE)).containsExactly(Extent.data(0, 1000));
            assertThat(device.extents(1000, SIZE - 1000)).containsExactly(Extent.zeroes(1000, 2000));
            assertThat(device.extents(3000, 100)).containsExactly(Extent.data(3000, 100));
            assertThat(device.extents(65_536, SIZE - 65_536))
                    .containsExactly(Extent.unallocated(65_536, 200_000 - 65_536));
            assertThat(device.extents(200_500, SIZE - 200_500))
                    .containsExactly(Extent.data(200_500, 1500), Extent.zeroes(202_000, 500));
        }
    }

    @Test
    void writesCompletedBeforeAFlushAreDurableWhenItReturns() throws Exception {
        int blocks = 64;
        MemoryBlockDevice below = MemoryBlockDevice.create(SIZE);
        AtomicLongArray completed = new AtomicLongArray(blocks);
        AtomicBoolean stop = new AtomicBoolean();
        try (BlockDevice device = LayerCatalog.wrap("crash:max-pending=256K", below);
             ExecutorService pool = Executors.newFixedThreadPool(5)) {
            List<Future<?>> writers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                writers.add(pool.submit(() -> {
                    for (long version = 1; !stop.get(); version++) {
                        for (int block = thread; block < blocks; block += 4) {
                            byte[] data = new byte[4096];
                            ByteBuffer.wrap(data).putLong(version).putLong(version);
                            write(device, block * 4096L, data);
                            completed.set(block, version);
                        }
                    }
                    return null;
                }));
            }
            try {
                for (int round = 0; round < 300; round++) {
                    long[] before = new long[blocks];
                    for (int block = 0; block < blocks; block++) {
                        before[block] = completed.get(block);
                    }
                    device.flush();
                    for (int block = 0; block < blocks; block++) {
                        long durable = ByteBuffer.wrap(read(below, block * 4096L, 8)).getLong();
                        assertThat(durable).as("block %d after flush %d", block, round)
                                .isGreaterThanOrEqualTo(before[block]);
                    }
                }
            } finally {
                stop.set(true);
            }
            for (Future<?> writer : writers) {
                writer.get();
            }
        }
    }

    @Test
    void refusesAReadOnlyDeviceAndUnknownParameters() {
        BlockDevice below = MemoryBlockDevice.create(SIZE);
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.stack(List.of("crash", "readonly"), below))
                .withMessageContaining("layer 'crash'").withMessageContaining("read-only");
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("crash:max-pending=lots", below))
                .withMessageContaining("invalid max-pending='lots'");
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("crash:rate=1", below))
                .withMessage("layer 'crash': unknown parameter 'rate'; accepted: max-pending, trigger");
    }

    private static void assertPowerCut(ThrowingCallable call) {
        Throwable thrown = catchThrowable(call);
        assertThat(thrown).isInstanceOf(DeviceException.class).hasMessageContaining("power cut");
        assertThat(((DeviceException) thrown).errno()).isEqualTo(Errno.EIO);
    }

    /** Keeps the device below open when the layer closes, so the test can look at it afterwards. */
    private static final class UnclosableDevice extends ForwardingBlockDevice {
        UnclosableDevice(BlockDevice in) {
            super(in);
        }

        @Override
        public void close() {
        }
    }
}
