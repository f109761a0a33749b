package dev.sprout.backend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockDeviceContract;
import dev.sprout.block.Extent;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class PatternBlockDeviceTest extends BlockDeviceContract {

    @Override
    protected BlockDevice newDevice(long size) {
        return new PatternBlockDevice(size);
    }

    @Override
    protected boolean writable() {
        return false;
    }

    @Override
    protected boolean startsZeroed() {
        return false;
    }

    @Test
    void everyAlignedWordHoldsItsOwnOffsetBigEndian() throws Exception {
        try (PatternBlockDevice device = new PatternBlockDevice(1L << 40)) {
            for (long offset : new long[] {0, 8, 0x1000, 0x0102030405060708L & ((1L << 40) - 8), (1L << 40) - 8}) {
                assertThat(ByteBuffer.wrap(read(device, offset, 8)).getLong()).as("word at %d", offset).isEqualTo(offset);
            }
            assertThat(read(device, 0x0100, 16)).containsExactly(0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 8);
        }
    }

    @Test
    void unalignedReadsMatchTheAlignedContent() throws Exception {
        try (PatternBlockDevice device = new PatternBlockDevice(1L << 20)) {
            byte[] aligned = read(device, 4096, 4096);
            for (int start = 0; start < 16; start++) {
                for (int length : new int[] {1, 3, 8, 9, 17, 1000}) {
                    byte[] part = read(device, 4096 + start, length);
                    for (int i = 0; i < length; i++) {
                        assertThat(part[i]).as("byte %d of read at %d", i, 4096 + start).isEqualTo(aligned[start + i]);
                    }
                }
            }
            ByteBuffer direct = ByteBuffer.allocateDirect(20).position(3);
            device.read(4101, direct);
            for (int i = 3; i < 20; i++) {
                assertThat(direct.get(i)).isEqualTo(aligned[5 + i - 3]);
            }
        }
    }

    @Test
    void lastBytesOfTheLargestDeviceHoldTheLastWord() throws Exception {
        long size = Long.MAX_VALUE;
        try (PatternBlockDevice device = new PatternBlockDevice(size)) {
            // the last word starts at 2^63-8 = 0x7ffffffffffffff8; its final byte lies beyond the end
            assertThat(read(device, size - 7, 7)).containsExactly(0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
            assertThat(read(device, size - 10, 10))
                    .containsExactly(0xff, 0xff, 0xf0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
            assertThat(read(device, size - 1, 1)).containsExactly(0xff);
        }
    }

    @Test
    void everythingIsData() throws Exception {
        try (PatternBlockDevice device = new PatternBlockDevice(Long.MAX_VALUE)) {
            assertThat(device.extents(3, Long.MAX_VALUE - 3)).containsExactly(Extent.data(3, Long.MAX_VALUE - 3));
            assertThat(device).hasToString("Pattern(" + Long.MAX_VALUE + ")");
        }
    }
}
