package dev.sprout.layer;

import static dev.sprout.fs.DiskFixture.LINUX_FILESYSTEM;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.fs.DiskFixture;
import dev.sprout.fs.DiskFixture.GptEntry;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Partitions of byte-built GPT and MBR disks as devices, and the start-up errors for wrong choices. */
class PartitionDeviceTest {

    private static final int DISK = 8 << 20;

    private static DiskFixture gpt() {
        return new DiskFixture(DISK).gpt(List.of(
                new GptEntry(1, DiskFixture.EFI_SYSTEM, 2048, 4095, "esp"),
                new GptEntry(2, LINUX_FILESYSTEM, 4096, 8191, "root")));
    }

    private static DiskFixture mbr() {
        return new DiskFixture(DISK)
                .mbrEntry(0, 0, 0, 0x83, 2048, 2048)
                .mbrEntry(0, 1, 0, 0x05, 4096, 8192)
                .mbrEntry(4096, 0, 0, 0x83, 2048, 1024)
                .mbrEntry(4096, 1, 0, 0x05, 4096, 4096)
                .mbrEntry(8192, 0, 0, 0x83, 2048, 2048);
    }

    @Test
    void exposesAGptPartitionAsAWindow() throws IOException {
        try (BlockDevice disk = gpt().device(); BlockDevice partition = LayerCatalog.wrap("partition:number=2", disk)) {
            assertThat(partition.size()).isEqualTo(4096L * 512);
            partition.write(0, ByteBuffer.wrap(new byte[] {42}), false);
            assertThat(read(disk, 4096L * 512)).isEqualTo((byte) 42);
            assertThat(partition).hasToString("Partition(2 of GPT Memory(8M))");
        }
    }

    @Test
    void exposesLogicalMbrPartitions() throws IOException {
        try (BlockDevice disk = mbr().device(); BlockDevice partition = LayerCatalog.wrap("partition:number=6", disk)) {
            assertThat(partition.size()).isEqualTo(2048L * 512);
            partition.write(partition.size() - 1, ByteBuffer.wrap(new byte[] {7}), false);
            assertThat(read(disk, (8192L + 2048 + 2048) * 512 - 1)).isEqualTo((byte) 7);
        }
    }

    @Test
    void aMissingPartitionNamesTheOnesThatExist() throws IOException {
        try (BlockDevice disk = gpt().device()) {
            assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("partition:number=7", disk))
                    .withMessage("layer 'partition': partition 7 does not exist; the GPT table of Memory(8M) has partitions 1, 2");
        }
        try (BlockDevice disk = mbr().device()) {
            assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("partition:number=4", disk))
                    .withMessage("layer 'partition': partition 4 does not exist; the MBR table of Memory(8M) has partitions 1, 2, 5, 6");
            assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("partition:number=2", disk))
                    .withMessage("layer 'partition': partition 2 of Memory(8M) is an extended partition, a container for"
                            + " the logical partitions 5, 6");
        }
    }

    @Test
    void aDiskWithoutTableOrWithoutNumberIsRefused() throws IOException {
        try (BlockDevice disk = MemoryBlockDevice.create(DISK)) {
            assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("partition:number=1", disk))
                    .withMessage("layer 'partition': Memory(8M) has no partition table: no MBR boot signature"
                            + " (55 AA at byte 510) and no GPT header (\"EFI PART\" at byte 512)");
            assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("partition", disk))
                    .withMessageStartingWith("layer 'partition': number=N is required");
        }
    }

    @Test
    void aPartitionReachingPastTheDiskIsRefused() throws IOException {
        try (BlockDevice disk = new DiskFixture(DISK).mbrEntry(0, 0, 0, 0x83, 2048, 1 << 20).device()) {
            assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("partition:number=1", disk))
                    .withMessage("layer 'partition': partition 1 (bytes 1048576 to 537919488) extends past the end of"
                            + " Memory(8M) (8388608 bytes)");
        }
    }

    private static byte read(BlockDevice device, long offset) throws IOException {
        ByteBuffer one = ByteBuffer.allocate(1);
        device.read(offset, one);
        return one.get(0);
    }
}
