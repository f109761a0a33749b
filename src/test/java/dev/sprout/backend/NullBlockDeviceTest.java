package dev.sprout.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockDeviceContract;
import dev.sprout.block.Capabilities;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Extent;
import dev.sprout.block.WriteLease;
import dev.sprout.block.ZeroFlags;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class NullBlockDeviceTest extends BlockDeviceContract {

    @Override
    protected BlockDevice newDevice(long size) {
        return new NullBlockDevice(size);
    }

    @Override
    protected boolean retainsWrites() {
        return false;
    }

    @Test
    void acceptsEveryModificationAndStillReadsZeroes() throws Exception {
        try (NullBlockDevice device = new NullBlockDevice(Long.MAX_VALUE)) {
            ByteBuffer src = ByteBuffer.wrap(randomBytes(5000, 1));
            device.write(Long.MAX_VALUE - 5000, src, true);
            assertThat(src.hasRemaining()).isFalse();
            device.trim(0, Long.MAX_VALUE, false);
            device.zero(0, Long.MAX_VALUE, new ZeroFlags(true, true, true));
            device.flush();
            assertThat(read(device, Long.MAX_VALUE - 5000, 5000)).containsOnly(0);
            assertThat(device.extents(10, Long.MAX_VALUE - 10)).containsExactly(Extent.unallocated(10, Long.MAX_VALUE - 10));
        }
    }

    @Test
    void lendsBuffersHoldingExactlyTheWritesLengthAndCommitsNothingOnceClosed() throws Exception {
        NullBlockDevice device = new NullBlockDevice(Long.MAX_VALUE);
        for (int length : new int[] {1, 65_535, 65_536, 65_537, 1 << 20, (3 << 20) + 5}) {
            WriteLease lease = device.leaseWrite(0, length);
            assertThat(Arrays.stream(lease.buffers()).mapToLong(ByteBuffer::remaining).sum()).as("length %d", length)
                    .isEqualTo(length);
            lease.commit(true);
        }
        WriteLease late = device.leaseWrite(0, 4096);
        device.close();
        assertThatThrownBy(() -> late.commit(false)).isInstanceOf(DeviceException.class);
    }

    @Test
    void offersEveryCapabilityAndNamesItsSize() {
        try (NullBlockDevice device = new NullBlockDevice(1L << 30)) {
            assertThat(device.capabilities()).isEqualTo(Capabilities.full());
            assertThat(device).hasToString("Null(1G)");
        }
    }
}
