package dev.sprout.backend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockDeviceContract;
import dev.sprout.block.Capabilities;
import dev.sprout.block.Errno;
import dev.sprout.block.Extent;
import dev.sprout.block.RequestException;
import java.nio.ByteBuffer;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;

class ZeroBlockDeviceTest extends BlockDeviceContract {

    @Override
    protected BlockDevice newDevice(long size) {
        return new ZeroBlockDevice(size);
    }

    @Override
    protected boolean writable() {
        return false;
    }

    @Test
    void readsZeroesToTheLastByteOfTheLargestDevice() throws Exception {
        try (ZeroBlockDevice device = new ZeroBlockDevice(Long.MAX_VALUE)) {
            ByteBuffer direct = ByteBuffer.allocateDirect(4096);
            device.read(Long.MAX_VALUE - 4096, direct);
            assertThat(direct.position()).isEqualTo(4096);
            assertThat(read(device, Long.MAX_VALUE - 7, 7)).containsOnly(0);
            assertThat(device.extents(0, Long.MAX_VALUE)).containsExactly(Extent.unallocated(0, Long.MAX_VALUE));
        }
    }

    @Test
    void refusalNamesTheOperationAndTheDevice() {
        try (ZeroBlockDevice device = new ZeroBlockDevice(1L << 20)) {
            Assertions.assertThatThrownBy(() -> device.trim(0, 1, false))
                    .isInstanceOfSatisfying(RequestException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EPERM))
                    .hasMessage("trim on read-only Zero(1M)");
        }
    }

    @Test
    void offersReadOnlyCapabilities() {
        try (ZeroBlockDevice device = new ZeroBlockDevice(1L << 20)) {
            assertThat(device.capabilities()).isEqualTo(Capabilities.full().readOnly());
        }
    }
}
