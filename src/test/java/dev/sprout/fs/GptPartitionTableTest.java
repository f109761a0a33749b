package dev.sprout.fs;

import static dev.sprout.fs.DiskFixture.EFI_SYSTEM;
import static dev.sprout.fs.DiskFixture.LINUX_FILESYSTEM;
import static dev.sprout.fs.DiskFixture.LINUX_SWAP;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.DeviceException;
import dev.sprout.fs.DiskFixture.GptEntry;
import java.io.IOException;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** GPT tables from byte fixtures: entries, names, GUIDs, CRC checks and the backup header. */
class GptPartitionTableTest {

    private static final int SIZE = 8 << 20;
    private static final long LAST_LBA = SIZE / 512 - 1;
    private static final List<GptEntry> ENTRIES = List.of(
            new GptEntry(1, EFI_SYSTEM, 2048, 4095, "EFI system partition"),
            new GptEntry(2, LINUX_FILESYSTEM, 4096, 10239, "données"),
            new GptEntry(4, LINUX_SWAP, 10240, 12287, ""),
            new GptEntry(5, UUID.fromString("11111111-2222-3333-4444-555555555555"), 12288, 12288, "odd"));

    @Test
    void readsEveryEntryWithItsIndexAsNumber() throws IOException {
        PartitionTable table = read(new DiskFixture(SIZE).gpt(ENTRIES));
        assertThat(table.scheme()).isEqualTo("GPT");
        assertThat(table.partitions()).containsExactly(
                new Partition(1, 2048L * 512, 2048L * 512, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "EFI System",
                        "EFI system partition", false),
                new Partition(2, 4096L * 512, 6144L * 512, "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "Linux filesystem",
                        "données", false),
                new Partition(4, 10240L * 512, 2048L * 512, "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", "Linux swap",
                        "", false),
                new Partition(5, 12288L * 512, 512, "11111111-2222-3333-4444-555555555555", "unknown", "odd", false));
        assertThat(((GptPartitionTable) table).diskGuid()).isEqualTo(DiskFixture.DISK_GUID);
        assertThat(((GptPartitionTable) table).headerLba()).isEqualTo(1);
    }

    @Test
    void aNameFillingAllThirtySixCharactersIsKeptWhole() throws IOException {
        String name = "abcdefghijklmnopqrstuvwxyz0123456789";
        PartitionTable table = read(new DiskFixture(SIZE).gpt(List.of(new GptEntry(1, LINUX_FILESYSTEM, 34, 40, name))));
        assertThat(table.partitions().getFirst().name()).isEqualTo(name);
    }

    @Test
    void aDamagedPrimaryHeaderFallsBackToTheBackup() throws IOException {
        DiskFixture disk = new DiskFixture(SIZE).gpt(ENTRIES).flipBit(512 + 60); // inside the disk GUID
        GptPartitionTable table = (GptPartitionTable) read(disk);
        assertThat(table.headerLba()).isEqualTo(LAST_LBA);
        assertThat(table.partitions()).extracting(Partition::number).containsExactly(1, 2, 4, 5);
    }

    @Test
    void damagedPrimaryAndBackupHeadersFailNamingTheCrcs() throws IOException {
        DiskFixture disk = new DiskFixture(SIZE).gpt(ENTRIES).flipBit(512 + 60).flipBit(LAST_LBA * 512 + 60);
        try (BlockDevice device = disk.device()) {
            assertThatThrownBy(() -> PartitionTable.read(device)).isInstanceOf(DeviceException.class)
                    .hasMessageStartingWith("Memory(8M): GPT header at LBA 1 has CRC32 ")
                    .hasMessageMatching(".* but its 92 bytes sum to [0-9a-f]{8}; the backup is no better: "
                            + "Memory\\(8M\\): GPT header at LBA 16383 has CRC32 .*");
        }
    }

    @Test
    void aDamagedEntryArrayFailsItsCrc() throws IOException {
        DiskFixture disk = new DiskFixture(SIZE).gpt(ENTRIES)
                .flipBit(2 * 512 + 128 + 40)                         // primary array, entry 2's last LBA
                .flipBit((LAST_LBA - 32) * 512 + 128 + 40);          // the same in the backup array
        try (BlockDevice device = disk.device()) {
            assertThatThrownBy(() -> PartitionTable.read(device))
                    .hasMessageStartingWith("Memory(8M): GPT header at LBA 1 has entry array CRC32 ")
                    .hasMessageContaining("but the 128 entries at LBA 2 sum to");
        }
    }

    @Test
    void aDamagedPrimaryArrayIsReadFromTheBackup() throws IOException {
        DiskFixture disk = new DiskFixture(SIZE).gpt(ENTRIES).flipBit(2 * 512 + 128 + 40);
        GptPartitionTable table = (GptPartitionTable) read(disk);
        assertThat(table.headerLba()).isEqualTo(LAST_LBA);
        assertThat(table.partition(2)).map(Partition::size).contains(6144L * 512);
    }

    @Test
    void aGptHeaderWithoutProtectiveMbrIsStillFound() throws IOException {
        DiskFixture disk = new DiskFixture(SIZE).gpt(ENTRIES).put(510, new byte[2]);
        assertThat(read(disk).scheme()).isEqualTo("GPT");
    }

    @Test
    void aProtectiveMbrWithoutGptHeaderFails() throws IOException {
        DiskFixture disk = new DiskFixture(SIZE).mbrEntry(0, 0, 0, 0xee, 1, LAST_LBA);
        try (BlockDevice device = disk.device()) {
            assertThatThrownBy(() -> PartitionTable.read(device))
                    .hasMessage("Memory(8M): GPT header at LBA 1 has no \"EFI PART\" signature; the backup is no better: "
                            + "Memory(8M): GPT header at LBA 16383 has no \"EFI PART\" signature");
        }
    }

    private static PartitionTable read(DiskFixture disk) throws IOException {
        try (BlockDevice device = disk.device()) {
            return PartitionTable.read(device);
        }
    }
}
