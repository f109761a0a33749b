package dev.sprout.layer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockDeviceContract;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.Extent;
import dev.sprout.block.ZeroFlags;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The error layer: at rate 0 a plain disk; otherwise failures exactly where, when and as often as asked. */
class ErrorInjectingDeviceTest extends BlockDeviceContract {

    @TempDir
    Path dir;

    @Override
    protected BlockDevice newDevice(long size) throws IOException {
        return LayerCatalog.wrap("error:rate=0", MemoryBlockDevice.create(size));
    }

    @Test
    void failsEveryOperationWithTheChosenErrnoAndChangesNothing() throws IOException {
        MemoryBlockDevice below = MemoryBlockDevice.create(SIZE);
        write(below, 0, randomBytes(100_000, 1));
        try (BlockDevice device = LayerCatalog.wrap("error:errno=ENOSPC", below)) {
            assertThat(device).hasToString("ErrorInjecting(Memory(1M))");
            assertInjected(Errno.ENOSPC, () -> read(device, 0, 10));
            assertInjected(Errno.ENOSPC, () -> device.write(0, ByteBuffer.wrap(new byte[4096]), false));
            assertInjected(Errno.ENOSPC, () -> device.zero(0, 4096, ZeroFlags.PUNCH));
            assertInjected(Errno.ENOSPC, () -> device.trim(0, 4096, true));
            assertInjected(Errno.ENOSPC, device::flush);
            assertInjected(Errno.ENOSPC, () -> device.cache(0, 4096));
            assertInjected(Errno.ENOSPC, () -> device.extents(0, SIZE));
            assertThat(read(below, 0, 100_000)).isEqualTo(randomBytes(100_000, 1));
        }
    }

    @Test
    void namesTheInjectedErrnoTheLayerAndTheRequest() throws IOException {
        try (BlockDevice device = LayerCatalog.wrap("error:errno=eperm", MemoryBlockDevice.create(SIZE))) {
            assertThat(catchThrowable(() -> read(device, 4096, 512)))
                    .hasMessage("injected EPERM (error layer): read 4096+512");
        }
    }

    @Test
    void triggerFileTurnsErrorsOnAndOff() throws IOException {
        Path trigger = dir.resolve("inject");
        try (BlockDevice device = LayerCatalog.wrap("error:trigger=" + trigger, MemoryBlockDevice.create(SIZE))) {
            write(device, 0, randomBytes(4096, 2));
            assertThat(read(device, 0, 4096)).isEqualTo(randomBytes(4096, 2));
            Files.createFile(trigger);
            assertInjected(Errno.EIO, () -> read(device, 0, 4096));
            assertInjected(Errno.EIO, () -> write(device, 0, new byte[4096]));
            Files.delete(trigger);
            assertThat(read(device, 0, 4096)).isEqualTo(randomBytes(4096, 2));
        }
    }

    @Test
    void rangesFailOnlyRequestsTouchingThemWithTheirEndsExclusive() throws IOException {
        try (BlockDevice device = LayerCatalog.wrap("error:ranges=4K-8K,1M-1028K", MemoryBlockDevice.create(2 * SIZE))) {
            read(device, 0, 4096);
            read(device, 8192, 4096);
            read(device, SIZE - 10, 10);
            read(device, SIZE + 4096, 10);
            device.flush();
            assertInjected(Errno.EIO, () -> read(device, 4095, 2));
            assertInjected(Errno.EIO, () -> read(device, 8191, 1));
            assertInjected(Errno.EIO, () -> read(device, 0, 1 << 20));
            assertInjected(Errno.EIO, () -> device.zero(SIZE + 4095, 1, ZeroFlags.PUNCH));
            assertInjected(Errno.EIO, () -> device.extents(SIZE - 1, 2));
        }
    }

    @Test
    void extentsPassThroughUnchangedWhenTheyDoNotFail() throws IOException {
        MemoryBlockDevice below = MemoryBlockDevice.create(SIZE);
        write(below, 4096, new byte[] {1});
        List<Extent> expected = allExtents(below, 0, SIZE);
        try (BlockDevice device = LayerCatalog.wrap("error:ranges=12K-16K,ops=read", below)) {
            assertThat(allExtents(device, 0, SIZE)).isEqualTo(expected)
                    .contains(Extent.unallocated(65536, SIZE - 65536));
        }
    }

    @Test
    void opsSelectWhichOperationsFail() throws IOException {
        try (BlockDevice device = LayerCatalog.wrap("error:ops=write,flush,errno=ESHUTDOWN", MemoryBlockDevice.create(SIZE))) {
            read(device, 0, 4096);
            device.zero(0, 4096, ZeroFlags.PUNCH);
            device.trim(0, 4096, false);
            device.extents(0, SIZE);
            device.cache(0, SIZE);
            assertInjected(Errno.ESHUTDOWN, () -> write(device, 0, new byte[1]));
            assertInjected(Errno.ESHUTDOWN, device::flush);
        }
    }

    @Test
    void rateStaysWithinStatisticalBoundsAndTheSeedReplaysTheSameFailures() throws IOException {
        BitSet first = failures("error:rate=10%,seed=42", 10_000);
        assertThat(first.cardinality()).as("failures of 10000 requests at 10%").isBetween(850, 1150);
        assertThat(failures("error:rate=10,seed=42", 10_000)).isEqualTo(first);
        assertThat(failures("error:rate=10,seed=43", 10_000)).isNotEqualTo(first);
        assertThat(failures("error:rate=0.5,seed=7", 10_000).cardinality()).isBetween(25, 80);
    }

    @Test
    void concurrentRequestsShareOneSequenceOfRolls() throws Exception {
        int expected = failures("error:rate=25,seed=9", 8000).cardinality();
        AtomicInteger failed = new AtomicInteger();
        try (BlockDevice device = LayerCatalog.wrap("error:rate=25,seed=9", MemoryBlockDevice.create(SIZE));
             ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<Future<?>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                results.add(pool.submit(() -> {
                    for (int i = 0; i < 1000; i++) {
                        if (catchThrowable(() -> read(device, 0, 1)) != null) {
                            failed.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> result : results) {
                result.get();
            }
        }
        assertThat(failed).hasValue(expected);
    }

    @Test
    void badParametersNameWhatIsAccepted() {
        BlockDevice below = MemoryBlockDevice.create(SIZE);
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("error:errno=EBADF", below))
                .withMessage("layer 'error': invalid errno='EBADF'; expected EPERM, EIO, ENOMEM, EINVAL, ENOSPC, ESHUTDOWN");
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("error:rate=101", below))
                .withMessageContaining("invalid rate='101'");
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("error:ops=read,fsync", below))
                .withMessageContaining("invalid ops='fsync'");
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("error:ranges=0-4K,8K-4K", below))
                .withMessageContaining("invalid ranges='0-4K,8K-4K' at '8K-4K'").withMessageContaining("END exclusive");
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("error:ranges=4K", below))
                .withMessageContaining("at '4K'");
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("error:probability=5", below))
                .withMessage("layer 'error': unknown parameter 'probability'; accepted: errno, ops, ranges, rate, seed, trigger");
    }

    /** Which of {@code count} one-byte reads fail on a fresh stack built from {@code spec}. */
    private static BitSet failures(String spec, int count) throws IOException {
        BitSet failed = new BitSet();
        try (BlockDevice device = LayerCatalog.wrap(spec, MemoryBlockDevice.create(SIZE))) {
            for (int i = 0; i < count; i++) {
                Throwable thrown = catchThrowable(() -> read(device, 0, 1));
                if (thrown != null) {
                    assertThat(thrown).isInstanceOf(DeviceException.class);
                    failed.set(i);
                }
            }
        }
        return failed;
    }

    private static void assertInjected(Errno errno, ThrowingCallable call) {
        Throwable thrown = catchThrowable(call);
        assertThat(thrown).isInstanceOf(DeviceException.class)
                .hasMessageStartingWith("injected " + errno + " (error layer)");
        assertThat(((DeviceException) thrown).errno()).isEqualTo(errno);
    }
}
