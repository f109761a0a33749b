package dev.sprout.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.groups.Tuple.tuple;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.DeviceException;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** MBR tables from byte fixtures: primary slots, EBR chains, broken chains, and what is no MBR. */
class MbrPartitionTableTest {

    private static final int MIB = 1 << 20;

    @Test
    void primaryPartitionsKeepTheNumberOfTheirSlot() throws IOException {
        DiskFixture disk = new DiskFixture(8 * MIB)
                .mbrEntry(0, 0, 0x80, 0x83, 2048, 4096)
                .mbrEntry(0, 2, 0, 0x82, 8192, 2048);
        PartitionTable table = read(disk);
        assertThat(table.scheme()).isEqualTo("MBR");
        assertThat(table.partitions()).containsExactly(
                new Partition(1, 2048L * 512, 4096L * 512, "0x83", "Linux", "", false),
                new Partition(3, 8192L * 512, 2048L * 512, "0x82", "Linux swap", "", false));
        assertThat(table.partition(3)).map(Partition::start).contains(8192L * 512);
        assertThat(table.partition(2)).isEmpty();
    }

    @Test
    void logicalPartitionsAreNumberedFromFiveAlongTheEbrChain() throws IOException {
        // Extended partition at LBA 4096..16383; EBRs at 4096, 8192, 12288, each with one logical partition
        // starting 2048 sectors after its EBR; links are relative to the extended partition's start.
        DiskFixture disk = new DiskFixture(8 * MIB)
                .mbrEntry(0, 0, 0, 0x83, 2048, 2048)
                .mbrEntry(0, 1, 0, 0x05, 4096, 12288)
                .mbrEntry(4096, 0, 0, 0x83, 2048, 1024)
                .mbrEntry(4096, 1, 0, 0x05, 4096, 4096)
                .mbrEntry(8192, 0, 0, 0x8e, 2048, 1024)
                .mbrEntry(8192, 1, 0, 0x05, 8192, 4096)
                .mbrEntry(12288, 0, 0, 0x07, 2048, 1024);
        assertThat(read(disk).partitions()).containsExactly(
                new Partition(1, 2048L * 512, 2048L * 512, "0x83", "Linux", "", false),
                new Partition(2, 4096L * 512, 12288L * 512, "0x05", "Extended", "", true),
                new Partition(5, 6144L * 512, 1024L * 512, "0x83", "Linux", "", false),
                new Partition(6, 10240L * 512, 1024L * 512, "0x8e", "Linux LVM", "", false),
                new Partition(7, 14336L * 512, 1024L * 512, "0x07", "HPFS/NTFS/exFAT", "", false));
    }

    @Test
    void anEbrChainThatLoopsBackEndsAtTheFirstRepeat() throws IOException {
        DiskFixture disk = new DiskFixture(8 * MIB)
                .mbrEntry(0, 0, 0, 0x0f, 2048, 8192)
                .mbrEntry(2048, 0, 0, 0x83, 64, 100)
                .mbrEntry(2048, 1, 0, 0x05, 1024, 2048)
                .mbrEntry(3072, 0, 0, 0x83, 64, 100)
                .mbrEntry(3072, 1, 0, 0x05, 0, 2048); // back to the first EBR
        assertThat(read(disk).partitions()).extracting(Partition::number, Partition::start)
                .containsExactly(tuple(1, 2048L * 512),
                        tuple(5, 2112L * 512),
                        tuple(6, 3136L * 512));
    }

    @Test
    void anEbrLinkingToItselfYieldsOneLogicalPartition() throws IOException {
        DiskFixture disk = new DiskFixture(4 * MIB)
                .mbrEntry(0, 3, 0, 0x85, 2048, 4096)
                .mbrEntry(2048, 0, 0, 0x83, 1, 100)
                .mbrEntry(2048, 1, 0, 0x05, 0, 4096);
        assertThat(read(disk).partitions()).extracting(Partition::number).containsExactly(4, 5);
    }

    @Test
    void theChainStopsAtLinksLeavingTheExtendedPartitionAndAtRecordsWithoutSignature() throws IOException {
        DiskFixture outside = new DiskFixture(8 * MIB)
                .mbrEntry(0, 0, 0, 0x05, 2048, 2048)
                .mbrEntry(2048, 0, 0, 0x83, 1, 100)
                .mbrEntry(2048, 1, 0, 0x05, 4096, 100); // past the extended partition's 2048 sectors
        assertThat(read(outside).partitions()).extracting(Partition::number).containsExactly(1, 5);

        DiskFixture unsigned = new DiskFixture(8 * MIB).mbrEntry(0, 0, 0, 0x05, 2048, 2048);
        assertThat(read(unsigned).partitions()).extracting(Partition::number).containsExactly(1);
    }

    @Test
    void emptyLogicalEntriesTakeNoNumber() throws IOException {
        DiskFixture disk = new DiskFixture(8 * MIB)
                .mbrEntry(0, 0, 0, 0x05, 2048, 8192)
                .mbrEntry(2048, 1, 0, 0x05, 2048, 2048) // an EBR with no logical partition, only a link
                .mbrEntry(4096, 0, 0, 0x83, 64, 100);
        assertThat(read(disk).partitions()).extracting(Partition::number, Partition::start)
                .containsExactly(tuple(1, 2048L * 512),
                        tuple(5, 4160L * 512));
    }

    @Test
    void aFatBootSectorIsNoPartitionTable() throws IOException {
        DiskFixture fat = new DiskFixture(MIB).signature(0).put(446, new byte[] {(byte) 0x8b, 0x0e});
        try (BlockDevice device = fat.device()) {
            assertThatThrownBy(() -> PartitionTable.read(device)).isInstanceOf(DeviceException.class)
                    .hasMessage("Memory(1M) has no partition table: sector 0 ends in 55 AA but entry 1 has boot flag"
                            + " 0x8b (not 0x00 or 0x80), so it is no MBR");
        }
    }

    @Test
    void aDiskWithoutSignatureHasNoTable() throws IOException {
        try (BlockDevice device = new DiskFixture(MIB).device()) {
            assertThatThrownBy(() -> PartitionTable.read(device)).isInstanceOf(DeviceException.class)
                    .hasMessage("Memory(1M) has no partition table: no MBR boot signature (55 AA at byte 510)"
                            + " and no GPT header (\"EFI PART\" at byte 512)");
        }
    }

    @Test
    void aDeviceSmallerThanASectorIsRefused() throws IOException {
        try (BlockDevice device = MemoryBlockDevice.create(100)) {
            assertThatThrownBy(() -> PartitionTable.read(device))
                    .hasMessage("Memory(100): MBR at LBA 0 lies past the end of the 100-byte device");
        }
    }

    private static PartitionTable read(DiskFixture disk) throws IOException {
        try (BlockDevice device = disk.device()) {
            return PartitionTable.read(device);
        }
    }
}
