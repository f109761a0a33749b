package dev.sprout.layer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockDeviceContract;
import dev.sprout.block.ZeroFlags;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The delay layer: a plain disk that takes at least as long as asked. Only lower bounds are
 * asserted; a loaded machine may always be slower.
 */
class DelayingDeviceTest extends BlockDeviceContract {

    @Override
    protected BlockDevice newDevice(long size) throws IOException {
        return LayerCatalog.wrap("delay:all=20us,read=50us", MemoryBlockDevice.create(size));
    }

    @Test
    void eachOperationTakesAtLeastItsDelay() throws IOException {
        try (BlockDevice device = LayerCatalog.wrap("delay:all=5ms,read=40ms,write=1.5ms,flush=0.03s,extents=2500us",
                MemoryBlockDevice.create(SIZE))) {
            assertThat(device).hasToString("Delaying(Memory(1M))");
            assertAtLeast(40, () -> read(device, 0, 4096));
            assertAtLeast(1.5, () -> device.write(0, ByteBuffer.wrap(new byte[10]), true));
            assertAtLeast(30, device::flush);
            assertAtLeast(2.5, () -> device.extents(0, SIZE));
            assertAtLeast(5, () -> device.zero(0, 10, ZeroFlags.PUNCH));
            assertAtLeast(5, () -> device.trim(0, 10, false));
            assertAtLeast(5, () -> device.cache(0, 10));
        }
    }

    @Test
    void operationsWithoutADelayPassStraightThrough() throws IOException {
        try (BlockDevice device = LayerCatalog.wrap("delay:write=10ms", MemoryBlockDevice.create(SIZE))) {
            write(device, 100, randomBytes(1000, 1));
            assertThat(read(device, 100, 1000)).isEqualTo(randomBytes(1000, 1));
            assertAtLeast(10, () -> write(device, 0, new byte[1]));
        }
    }

    @Test
    void anInterruptedDelayFailsTheRequest() throws IOException {
        try (BlockDevice device = LayerCatalog.wrap("delay:read=10s", MemoryBlockDevice.create(SIZE))) {
            Thread.currentThread().interrupt();
            assertThatThrownBy(() -> read(device, 0, 1)).isInstanceOf(InterruptedIOException.class)
                    .hasMessageContaining("read delay");
            assertThat(Thread.interrupted()).as("interrupt status kept").isTrue();
        }
    }

    @Test
    void badDurationsAndKeysNameWhatIsAccepted() {
        BlockDevice below = MemoryBlockDevice.create(SIZE);
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("delay:read=fast", below))
                .withMessage("layer 'delay': invalid read='fast'; expected a duration such as 10, 10ms, 1.5s or 250us");
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap(
                        "delay:read=1,write=1,zero=1,trim=1,flush=1,extents=1,cache=1,all=-1", below))
                .withMessageContaining("invalid all='-1'");
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("delay:open=5", below))
                .withMessage("layer 'delay': unknown parameter 'open'; accepted: "
                        + "all, cache, extents, flush, read, trim, write, zero");
    }

    private interface Call {
        void run() throws IOException;
    }

    private static void assertAtLeast(double millis, Call call) throws IOException {
        long start = System.nanoTime();
        call.run();
        long elapsed = System.nanoTime() - start;
        assertThat(elapsed).as("nanoseconds taken, asked for %s ms", millis)
                .isGreaterThanOrEqualTo((long) (millis * TimeUnit.MILLISECONDS.toNanos(1)));
    }
}
