package dev.sprout.fs;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * An MBR (DOS) partition table: four primary slots numbered 1-4, and in an extended partition a
 * chain of extended boot records (EBRs), each holding one logical partition (numbered from 5) and
 * a link to the next EBR. Numbering follows Linux's block/partitions/msdos.c: empty slots keep
 * their number, empty logical entries take none.
 */
record MbrPartitionTable(List<Partition> partitions) implements PartitionTable {

    /** Where the four 16-byte entries start in a boot record. */
    private static final int ENTRIES = 446;
    private static final int PROTECTIVE = 0xee;
    /** More logical partitions than this means a corrupt chain, not a disk. */
    private static final int MAX_LOGICAL = 256;

    private static final Map<Integer, String> TYPE_NAMES = Map.ofEntries(
            Map.entry(0x01, "FAT12"), Map.entry(0x04, "FAT16 <32M"), Map.entry(0x05, "Extended"),
            Map.entry(0x06, "FAT16"), Map.entry(0x07, "HPFS/NTFS/exFAT"), Map.entry(0x0b, "W95 FAT32"),
            Map.entry(0x0c, "W95 FAT32 (LBA)"), Map.entry(0x0e, "W95 FAT16 (LBA)"),
            Map.entry(0x0f, "W95 Ext'd (LBA)"), Map.entry(0x82, "Linux swap"), Map.entry(0x83, "Linux"),
            Map.entry(0x85, "Linux extended"), Map.entry(0x8e, "Linux LVM"), Map.entry(0xa5, "FreeBSD"),
            Map.entry(0xee, "GPT"), Map.entry(0xef, "EFI (FAT-12/16/32)"), Map.entry(0xfd, "Linux raid autodetect"));

    /** One 16-byte entry: its type byte, first sector (relative to a base) and sector count. */
    private record Entry(int status, int type, long start, long sectors) {

        static Entry at(ByteBuffer record, int slot) {
            int at = ENTRIES + 16 * slot;
            return new Entry(record.get(at) & 0xff, record.get(at + 4) & 0xff,
                    Sectors.uint32(record, at + 8), Sectors.uint32(record, at + 12));
        }

        boolean empty() {
            return type == 0 || sectors == 0;
        }

        boolean extended() {
            return type == 0x05 || type == 0x0f || type == 0x85;
        }

        Partition partition(int number, long base) {
            String typeId = String.format(Locale.ROOT, "0x%02x", type);
            return new Partition(number, (base + start) * SECTOR_SIZE, sectors * SECTOR_SIZE, typeId,
                    TYPE_NAMES.getOrDefault(type, "unknown"), "", extended());
        }
    }

    @Override
    public String scheme() {
        return "MBR";
    }

    /** Whether a boot record with a valid signature protects a GPT disk. */
    static boolean isProtective(ByteBuffer mbr) {
        for (int slot = 0; slot < 4; slot++) {
            if (Entry.at(mbr, slot).type() == PROTECTIVE) {
                return true;
            }
        }
        return false;
    }

    /** Reads the table whose boot record (sector 0, with a valid signature) is {@code mbr}. */
    static MbrPartitionTable read(BlockDevice device, ByteBuffer mbr) throws IOException {
        List<Partition> partitions = new ArrayList<>();
        for (int slot = 0; slot < 4; slot++) {
            int status = Entry.at(mbr, slot).status();
            if (status != 0 && status != 0x80) {
                // As Linux does: a FAT boot sector also ends in 55 AA, but its code here is no table.
                throw new DeviceException(Errno.EIO, device + " has no partition table: sector 0 ends in 55 AA but "
                        + "entry " + (slot + 1) + " has boot flag " + String.format("0x%02x", status)
                        + " (not 0x00 or 0x80), so it is no MBR");
            }
        }
        int nextLogical = 5;
        for (int slot = 0; slot < 4; slot++) {
            Entry entry = Entry.at(mbr, slot);
            if (!entry.empty()) {
                partitions.add(entry.partition(slot + 1, 0));
                if (entry.extended()) {
                    nextLogical = readLogical(device, entry, partitions, nextLogical);
                }
            }
        }
        return new MbrPartitionTable(List.copyOf(partitions));
    }

    /**
     * Walks the EBR chain of {@code extended}, adding its logical partitions numbered from
     * {@code number}; returns the next free number. Logical partitions start relative to their
     * EBR, links relative to the extended partition. The walk stops at the end of the chain, at a
     * link leaving the extended partition or the device, at an EBR without signature, and at an
     * EBR seen before (a loop), keeping what it found, as Linux does.
     */
    private static int readLogical(BlockDevice device, Entry extended, List<Partition> partitions, int number)
            throws IOException {
        long first = extended.start();
        long end = Math.min(first + extended.sectors(), device.size() / SECTOR_SIZE);
        Set<Long> seen = new HashSet<>();
        for (long ebr = first; ebr < end && seen.add(ebr) && seen.size() <= MAX_LOGICAL; ) {
            ByteBuffer record = Sectors.read(device, ebr, 1, "extended boot record");
            if (record.getShort(510) != (short) 0xaa55) {
                break;
            }
            Entry link = null;
            for (int slot = 0; slot < 4; slot++) {
                Entry entry = Entry.at(record, slot);
                if (entry.empty()) {
                    continue;
                }
                if (!entry.extended()) {
                    partitions.add(entry.partition(number++, ebr));
                } else if (link == null) {
                    link = entry;
                }
            }
            if (link == null) {
                break;
            }
            ebr = first + link.start();
        }
        return number;
    }
}
