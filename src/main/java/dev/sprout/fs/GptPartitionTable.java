package dev.sprout.fs;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.zip.CRC32;

/**
 * A GUID partition table (UEFI spec 2.10, 5.3 "GUID Partition Table (GPT) Disk Layout"): a header
 * at LBA 1 guarded by a CRC32, pointing at an array of entries guarded by another. When the
 * primary header is damaged the backup in the last sector is used, as gdisk and Linux do.
 *
 * @param diskGuid  the disk's GUID
 * @param headerLba where the header that was used lies: 1, or the last sector for the backup
 */
record GptPartitionTable(UUID diskGuid, long headerLba, List<Partition> partitions) implements PartitionTable {

    private static final String SIGNATURE = "EFI PART";
    /** The smallest header (UEFI 5.3.2, table 5-5) and the smallest entry (5.3.3). */
    private static final int MIN_HEADER = 92;
    private static final int MIN_ENTRY = 128;
    /** The largest entry array accepted: 16x the usual 128 entries of 128 bytes. */
    private static final int MAX_ARRAY = 256 << 10;
    /** A name: 36 UTF-16LE code units at byte 56 of an entry. */
    private static final int NAME_AT = 56;
    private static final int NAME_BYTES = 72;

    private static final Map<UUID, String> TYPE_NAMES = Map.ofEntries(
            type("C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "EFI System"),
            type("21686148-6449-6E6F-744E-656564454649", "BIOS boot"),
            type("0FC63DAF-8483-4772-8E79-3D69D8477DE4", "Linux filesystem"),
            type("0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", "Linux swap"),
            type("E6D6D379-F507-44C2-A23C-238F2A3DF928", "Linux LVM"),
            type("A19D880F-05FC-4D3B-A006-743F0F84911E", "Linux RAID"),
            type("4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", "Linux root (x86-64)"),
            type("933AC7E1-2EB4-4F13-B844-0E14E2AEF915", "Linux home"),
            type("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", "Microsoft basic data"),
            type("E3C9E316-0B5C-4DB8-817D-F92DF00215AE", "Microsoft reserved"),
            type("DE94BBA4-06D1-4D40-A16A-BFD50179D6AC", "Windows recovery environment"));

    private static Map.Entry<UUID, String> type(String guid, String name) {
        return Map.entry(UUID.fromString(guid), name);
    }

    @Override
    public String scheme() {
        return "GPT";
    }

    /** Whether {@code sector} starts with the GPT header signature. */
    static boolean hasSignature(ByteBuffer sector) {
        return Sectors.ascii(sector, 0, SIGNATURE.length()).equals(SIGNATURE);
    }

    /** Reads the table from the primary header, or from the backup if the primary is damaged. */
    static GptPartitionTable read(BlockDevice device) throws IOException {
        try {
            return read(device, 1);
        } catch (DeviceException primary) {
            long backup = device.size() / SECTOR_SIZE - 1;
            try {
                return read(device, backup);
            } catch (DeviceException also) {
                throw new DeviceException(Errno.EIO, primary.getMessage() + "; the backup is no better: "
                        + also.getMessage(), primary);
            }
        }
    }

    private static GptPartitionTable read(BlockDevice device, long lba) throws IOException {
        String where = device + ": GPT header at LBA " + lba;
        ByteBuffer header = Sectors.read(device, lba, 1, "GPT header");
        if (!hasSignature(header)) {
            throw corrupt(where, "has no \"EFI PART\" signature");
        }
        int headerSize = header.getInt(12);
        if (headerSize < MIN_HEADER || headerSize > SECTOR_SIZE) {
            throw corrupt(where, "gives a header size of " + headerSize + " (expected " + MIN_HEADER + " to " + SECTOR_SIZE + ")");
        }
        int stored = header.getInt(16);
        header.putInt(16, 0);
        int computed = crc32(header, 0, headerSize);
        if (stored != computed) {
            throw corrupt(where, String.format("has CRC32 %08x but its %d bytes sum to %08x", stored, headerSize, computed));
        }
        if (header.getLong(24) != lba) {
            throw corrupt(where, "says it lies at LBA " + header.getLong(24));
        }
        long arrayLba = header.getLong(72);
        long count = Sectors.uint32(header, 80);
        int entrySize = header.getInt(84);
        if (entrySize < MIN_ENTRY || entrySize % 8 != 0 || count * entrySize > MAX_ARRAY) {
            throw corrupt(where, "describes " + count + " entries of " + entrySize + " bytes (at most "
                    + MAX_ARRAY + " bytes, entries of 128 bytes or more)");
        }
        int arrayBytes = (int) count * entrySize;
        ByteBuffer array = Sectors.read(device, arrayLba, (arrayBytes + SECTOR_SIZE - 1) / SECTOR_SIZE, "GPT entry array");
        if (crc32(array, 0, arrayBytes) != header.getInt(88)) {
            throw corrupt(where, String.format("has entry array CRC32 %08x but the %d entries at LBA %d sum to %08x",
                    header.getInt(88), count, arrayLba, crc32(array, 0, arrayBytes)));
        }
        List<Partition> partitions = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int at = i * entrySize;
            UUID type = Sectors.guid(array, at);
            if (type.getMostSignificantBits() == 0 && type.getLeastSignificantBits() == 0) {
                continue;
            }
            long first = array.getLong(at + 32);
            long last = array.getLong(at + 40);
            if (first < 0 || last < first || last >= Long.MAX_VALUE / SECTOR_SIZE) {
                throw corrupt(where, "has entry " + (i + 1) + " from LBA " + Long.toUnsignedString(first)
                        + " to LBA " + Long.toUnsignedString(last));
            }
            partitions.add(new Partition(i + 1, first * SECTOR_SIZE, (last - first + 1) * SECTOR_SIZE,
                    type.toString().toUpperCase(Locale.ROOT), TYPE_NAMES.getOrDefault(type, "unknown"),
                    name(array, at + NAME_AT), false));
        }
        return new GptPartitionTable(Sectors.guid(header, 56), lba, List.copyOf(partitions));
    }

    /** The name, UTF-16LE up to the first NUL. */
    private static String name(ByteBuffer array, int at) {
        byte[] bytes = new byte[NAME_BYTES];
        array.get(at, bytes);
        String name = new String(bytes, StandardCharsets.UTF_16LE);
        int nul = name.indexOf('\0');
        return nul < 0 ? name : name.substring(0, nul);
    }

    private static int crc32(ByteBuffer buffer, int at, int length) {
        CRC32 crc = new CRC32();
        crc.update(buffer.slice(at, length));
        return (int) crc.getValue();
    }

    private static DeviceException corrupt(String where, String problem) {
        return new DeviceException(Errno.EIO, where + " " + problem);
    }
}
