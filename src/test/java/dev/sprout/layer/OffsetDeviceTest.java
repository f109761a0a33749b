package dev.sprout.layer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.backend.PatternBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockDeviceContract;
import dev.sprout.block.Extent;
import dev.sprout.block.ZeroFlags;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** A window in the middle of a larger memory device, at an offset that is no multiple of a page. */
class OffsetDeviceTest extends BlockDeviceContract {

    private static final long OFFSET = 3 * 65_536 + 4096 + 77;
    private static final long AFTER = 70_001;

    @Override
    protected BlockDevice newDevice(long size) throws IOException {
        return LayerCatalog.wrap("offset:offset=" + OFFSET + ",length=" + size,
                MemoryBlockDevice.create(OFFSET + size + AFTER));
    }

    @Test
    void shiftsEveryRequestByTheOffsetAndTouchesNothingOutside() throws IOException {
        try (MemoryBlockDevice lower = MemoryBlockDevice.create(OFFSET + SIZE + AFTER);
             BlockDevice window = new OffsetDevice(lower, OFFSET, SIZE)) {
            byte[] data = randomBytes(1000, 30);
            write(window, 0, data);
            write(window, SIZE - 1000, data);
            assertThat(read(lower, OFFSET, 1000)).isEqualTo(data);
            assertThat(read(lower, OFFSET + SIZE - 1000, 1000)).isEqualTo(data);
            window.zero(0, 10, ZeroFlags.PUNCH);
            window.trim(SIZE - 10, 10, false);
            assertThat(firstNonZero(read(lower, OFFSET, 10))).isEqualTo(-1);
            assertThat(read(lower, OFFSET + 10, 990)).isEqualTo(java.util.Arrays.copyOfRange(data, 10, 1000));
            assertThat(firstNonZero(read(lower, 0, (int) OFFSET))).as("before the window").isEqualTo(-1);
            assertThat(firstNonZero(read(lower, OFFSET + SIZE, (int) AFTER))).as("after the window").isEqualTo(-1);
            window.cache(0, SIZE);
        }
    }

    @Test
    void extentsComeBackInTheWindowsOwnOffsets() throws IOException {
        try (MemoryBlockDevice lower = MemoryBlockDevice.create(4 * 65_536);
             BlockDevice window = new OffsetDevice(lower, 65_536 + 100, 2 * 65_536)) {
            lower.write(2 * 65_536, ByteBuffer.wrap(new byte[] {1}), false);
            assertThat(window.extents(0, 2 * 65_536)).containsExactly(
                    Extent.unallocated(0, 65_436),
                    Extent.data(65_436, 65_536),
                    Extent.unallocated(65_436 + 65_536, 100));
            assertThat(window.extents(65_500, 10)).containsExactly(Extent.data(65_500, 10));
        }
    }

    @Test
    void readsThePatternAtTheShiftedPlace() throws IOException {
        try (BlockDevice window = LayerCatalog.wrap("offset:offset=1M", new PatternBlockDevice(3 << 20))) {
            assertThat(window.size()).as("length defaults to the rest").isEqualTo(2 << 20);
            assertThat(ByteBuffer.wrap(read(window, 8, 8)).getLong()).isEqualTo((1 << 20) + 8);
            assertThat(window.capabilities().writable()).isFalse();
            assertThat(window).hasToString("Offset(1M+2M, Pattern(3M))");
        }
    }

    @Test
    void windowsThatDoNotFitFailAtStartUp() {
        BlockDevice lower = new PatternBlockDevice(1 << 20);
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("offset:offset=512K,length=600K", lower))
                .withMessage("layer 'offset': the window offset=524288,length=614400 ends at byte 1138688, past the end"
                        + " of Pattern(1M) (1048576 bytes; at most length=524288 fits)");
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("offset:offset=1M", lower))
                .withMessage("layer 'offset': offset=1M is at or past the end of Pattern(1M) (1048576 bytes)");
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("offset:offset=1,length=0", lower))
                .withMessage("layer 'offset': length=0; a window needs at least one byte");
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("offset:start=1", lower))
                .withMessage("layer 'offset': unknown parameter 'start'; accepted: length, offset");
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("offset:offset=-5", lower))
                .withMessageStartingWith("layer 'offset': invalid offset='-5'");
    }
}
