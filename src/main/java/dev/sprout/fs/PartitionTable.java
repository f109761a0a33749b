package dev.sprout.fs;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * The partition table of a disk: MBR (with logical partitions) or GPT, read with 512-byte sectors.
 * Disks with 4 KiB logical sectors, whose tables count 4 KiB sectors, are a later extension.
 */
public sealed interface PartitionTable permits MbrPartitionTable, GptPartitionTable {

    /** The sector size the tables count in. */
    int SECTOR_SIZE = 512;

    /** {@code MBR} or {@code GPT}. */
    String scheme();

    /** The partitions in table order (which is number order). */
    List<Partition> partitions();

    /** The partition numbered {@code number}, if the table has it. */
    default Optional<Partition> partition(long number) {
        return partitions().stream().filter(p -> p.number() == number).findFirst();
    }

    /**
     * Reads the table of {@code device}: GPT when the MBR is protective (holds a partition of type
     * 0xEE) or missing while LBA 1 holds a GPT header, else MBR. Fails with a {@link DeviceException}
     * naming the device when there is no table or it is corrupt.
     */
    static PartitionTable read(BlockDevice device) throws IOException {
        ByteBuffer mbr = Sectors.read(device, 0, 1, "MBR");
        boolean bootSignature = mbr.getShort(510) == (short) 0xaa55;
        if (bootSignature && !MbrPartitionTable.isProtective(mbr)) {
            return MbrPartitionTable.read(device, mbr);
        }
        if (bootSignature || device.size() >= 2 * SECTOR_SIZE
                && GptPartitionTable.hasSignature(Sectors.read(device, 1, 1, "GPT header"))) {
            return GptPartitionTable.read(device);
        }
        throw new DeviceException(Errno.EIO, device + " has no partition table: no MBR boot signature"
                + " (55 AA at byte 510) and no GPT header (\"EFI PART\" at byte 512)");
    }
}
