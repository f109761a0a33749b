package dev.sprout.tool;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.layer.LayerCatalog;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

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

    /**
     * Between local devices a copy works on one chunk per core (at least 2, at most --requests); into
     * a device whose requests wait (here a delay layer), on all of its requests.
     */
    @Test
    void aLocalCopyWorksOnAChunkPerCoreAndOneIntoAWaitingDeviceOnEveryRequest() throws Exception {
        int requests = 16;
        int perCore = Math.min(requests, Math.max(2, Runtime.getRuntime().availableProcessors()));
        assumeTrue(perCore < requests, "as many cores as requests");
        assertThat(readsAtOnce(requests, to -> to, perCore)).isEqualTo(perCore);
        assertThat(readsAtOnce(requests, to -> LayerCatalog.wrap("delay:write=1ms", to), requests)).isEqualTo(requests);
    }

    /** --requests auto: one chunk per core between local devices, 8 into a device whose requests wait. */
    @Test
    void byDefaultALocalCopyWorksOnAChunkPerCoreAndOneIntoAWaitingDeviceOnEight() throws Exception {
        int perCore = Math.max(2, Runtime.getRuntime().availableProcessors());
        assertThat(readsAtOnce(Copy.AUTO_REQUESTS, to -> to, perCore)).isEqualTo(perCore);
        assertThat(readsAtOnce(Copy.AUTO_REQUESTS, to -> LayerCatalog.wrap("delay:write=1ms", to), 8)).isEqualTo(8);
    }

    /**
     * The most reads of its source a copy of 64 MiB of data made at once. Until {@code expected}
     * were seen at once, each read waits (5 s at most) for the others to arrive, so that a loaded
     * machine starting the workers slowly sees them all as well; more than that still shows.
     */
    private static int readsAtOnce(int requests, Layer destinationLayer, int expected) throws Exception {
        AtomicInteger reading = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        byte[] data = new byte[64 * MiB];
        new Random(7).nextBytes(data);
        try (MemoryBlockDevice memory = MemoryBlockDevice.create(data.length);
             BlockDevice to = destinationLayer.over(MemoryBlockDevice.create(data.length))) {
            memory.write(0, ByteBuffer.wrap(data), false);
            BlockDevice from = new ForwardingBlockDevice(memory) {
                @Override
                public void read(long offset, ByteBuffer dst) throws IOException {
                    most.accumulateAndGet(reading.incrementAndGet(), Math::max);
                    try {
                        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                        while (most.get() < expected && System.nanoTime() < deadline) {
                            Thread.sleep(1);
                        }
                        Thread.sleep(5); // a worker that should not be here has time to show
                        super.read(offset, dst);
                    } catch (InterruptedException e) {
                        throw new InterruptedIOException();
                    } finally {
                        reading.decrementAndGet();
                    }
                }
            };
            Copy.run(from, to, new Copy.Options(requests, true), new Progress(data.length, null));
            assertThat(Compare.firstDifference(memory, to)).isEmpty();
        }
        return most.get();
    }

    /**
     * Into a device whose requests wait (an NBD export; here a delay layer) chunks are written on
     * platform threads, which wait for a socket in the kernel rather than on the JDK's poller.
     */
    @Test
    void chunksAreWrittenOnPlatformThreadsIntoAWaitingDeviceAndOnVirtualOnesOtherwise() throws Exception {
        assertThat(writers(to -> to)).containsExactly("virtual");
        assertThat(writers(to -> LayerCatalog.wrap("delay:write=1ms", to))).containsExactly("platform");
    }

    /** The kinds of thread that wrote a copy's chunks, below {@code destinationLayer}. */
    private static Set<String> writers(Layer destinationLayer) throws Exception {
        Set<String> kinds = ConcurrentHashMap.newKeySet();
        try (MemoryBlockDevice from = source(); MemoryBlockDevice memory = MemoryBlockDevice.create(from.size());
             BlockDevice to = destinationLayer.over(new ForwardingBlockDevice(memory) {
                 @Override
                 public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
                     kinds.add(Thread.currentThread().isVirtual() ? "virtual" : "platform");
                     super.write(offset, src, fua);
                 }
             })) {
            Copy.run(from, to, new Copy.Options(8, true), new Progress(from.size(), null));
            assertThat(Compare.firstDifference(from, memory)).isEmpty();
        }
        return kinds;
    }

    @FunctionalInterface
    private interface Layer {
        BlockDevice over(BlockDevice device) throws IOException;
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
