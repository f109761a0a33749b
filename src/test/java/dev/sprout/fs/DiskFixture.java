package dev.sprout.fs;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.zip.CRC32;

/**
 * A small disk whose partition tables are written byte by byte, so tests control every field and
 * can break exactly the one they mean to.
 */
public final class DiskFixture {

    public static final int SECTOR = 512;
    public static final UUID LINUX_FILESYSTEM = UUID.fromString("0FC63DAF-8483-4772-8E79-3D69D8477DE4");
    public static final UUID EFI_SYSTEM = UUID.fromString("C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
    public static final UUID LINUX_SWAP = UUID.fromString("0657FD6D-A4AB-43C4-84E5-0933C84B4F4F");
    public static final UUID DISK_GUID = UUID.fromString("01234567-89AB-CDEF-0011-223344556677");

    /** 128 entries of 128 bytes: 32 sectors. */
    private static final int GPT_ENTRIES = 128;
    private static final int GPT_ENTRY_SIZE = 128;
    private static final int GPT_ARRAY_SECTORS = GPT_ENTRIES * GPT_ENTRY_SIZE / SECTOR;

    /** One GPT entry: its 1-based slot, type, inclusive LBA range and name. */
    public record GptEntry(int number, UUID type, long firstLba, long lastLba, String name) {
    }

    private final ByteBuffer disk;

    public DiskFixture(int size) {
        this.disk = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    public long sectors() {
        return disk.capacity() / SECTOR;
    }

    /** Writes entry {@code slot} (0-3) of the boot record at {@code recordLba} and the record's 55 AA signature. */
    public DiskFixture mbrEntry(long recordLba, int slot, int status, int type, long start, long sectors) {
        int at = (int) (recordLba * SECTOR) + 446 + 16 * slot;
        disk.put(at, (byte) status);
        disk.put(at + 4, (byte) type);
        disk.putInt(at + 8, (int) start);
        disk.putInt(at + 12, (int) sectors);
        return signature(recordLba);
    }

    /** Puts 55 AA at the end of sector {@code lba}. */
    public DiskFixture signature(long lba) {
        disk.put((int) (lba * SECTOR) + 510, (byte) 0x55);
        disk.put((int) (lba * SECTOR) + 511, (byte) 0xaa);
        return this;
    }

    /**
     * A GPT as sgdisk writes it: protective MBR, primary header at LBA 1 with its entries at LBA 2,
     * backup entries before the backup header in the last sector, both CRCs right.
     */
    public DiskFixture gpt(List<GptEntry> entries) {
        long last = sectors() - 1;
        mbrEntry(0, 0, 0, 0xee, 1, Math.min(last, 0xffff_ffffL));
        ByteBuffer array = ByteBuffer.allocate(GPT_ENTRIES * GPT_ENTRY_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        for (GptEntry entry : entries) {
            int at = (entry.number() - 1) * GPT_ENTRY_SIZE;
            putGuid(array, at, entry.type());
            putGuid(array, at + 16, UUID.nameUUIDFromBytes(entry.name().getBytes(StandardCharsets.UTF_8)));
            array.putLong(at + 32, entry.firstLba());
            array.putLong(at + 40, entry.lastLba());
            array.put(at + 56, entry.name().getBytes(StandardCharsets.UTF_16LE));
        }
        int arrayCrc = crc(array.array());
        put(2L * SECTOR, array.array());
        put((last - GPT_ARRAY_SECTORS) * SECTOR, array.array());
        header(1, last, 2, arrayCrc);
        header(last, 1, last - GPT_ARRAY_SECTORS, arrayCrc);
        return this;
    }

    private void header(long lba, long alternate, long arrayLba, int arrayCrc) {
        ByteBuffer header = ByteBuffer.allocate(92).order(ByteOrder.LITTLE_ENDIAN);
        header.put(0, "EFI PART".getBytes(StandardCharsets.US_ASCII));
        header.putInt(8, 0x0001_0000);
        header.putInt(12, 92);
        header.putLong(24, lba);
        header.putLong(32, alternate);
        header.putLong(40, 2 + GPT_ARRAY_SECTORS);
        header.putLong(48, sectors() - 2 - GPT_ARRAY_SECTORS);
        putGuid(header, 56, DISK_GUID);
        header.putLong(72, arrayLba);
        header.putInt(80, GPT_ENTRIES);
        header.putInt(84, GPT_ENTRY_SIZE);
        header.putInt(88, arrayCrc);
        header.putInt(16, crc(header.array()));
        put(lba * SECTOR, header.array());
    }

    /** Flips one bit of the byte at {@code offset}: corruption in exactly one place. */
    public DiskFixture flipBit(long offset) {
        disk.put((int) offset, (byte) (disk.get((int) offset) ^ 1));
        return this;
    }

    public DiskFixture put(long offset, byte[] bytes) {
        disk.put((int) offset, bytes);
        return this;
    }

    public byte[] bytes() {
        return disk.array().clone();
    }

    /** A memory device holding the disk. */
    public BlockDevice device() throws IOException {
        MemoryBlockDevice device = MemoryBlockDevice.create(disk.capacity());
        device.write(0, ByteBuffer.wrap(disk.array()), false);
        return device;
    }

    /** The GUID in its mixed-endian on-disk form. */
    private static void putGuid(ByteBuffer buffer, int at, UUID guid) {
        long high = guid.getMostSignificantBits();
        buffer.putInt(at, (int) (high >>> 32));
        buffer.putShort(at + 4, (short) (high >>> 16));
        buffer.putShort(at + 6, (short) high);
        buffer.putLong(at + 8, Long.reverseBytes(guid.getLeastSignificantBits()));
    }

    private static int crc(byte[] bytes) {
        CRC32 crc = new CRC32();
        crc.update(bytes);
        return (int) crc.getValue();
    }
}
