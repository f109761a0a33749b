package dev.sprout.fs;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/** Reads 512-byte sectors and the little-endian fields partition tables are made of. */
final class Sectors {

    private Sectors() {
    }

    /** {@code count} sectors from {@code lba}, little-endian; {@code what} names them if the device ends first. */
    static ByteBuffer read(BlockDevice device, long lba, int count, String what) throws IOException {
        long available = device.size() / PartitionTable.SECTOR_SIZE;
        if (lba < 0 || lba >= available || count > available - lba) {
            throw new DeviceException(Errno.EIO, device + ": " + what + " at LBA " + lba
                    + " lies past the end of the " + device.size() + "-byte device");
        }
        ByteBuffer buffer = ByteBuffer.allocate(count * PartitionTable.SECTOR_SIZE);
        device.read(lba * PartitionTable.SECTOR_SIZE, buffer);
        return buffer.flip().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The unsigned 32-bit value at {@code at}. */
    static long uint32(ByteBuffer buffer, int at) {
        return Integer.toUnsignedLong(buffer.getInt(at));
    }

    /** The Latin-1 text of {@code length} bytes at {@code at}. */
    static String ascii(ByteBuffer buffer, int at, int length) {
        byte[] bytes = new byte[length];
        buffer.get(at, bytes);
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    /**
     * The GUID at {@code at} in its mixed-endian on-disk form: the first three fields little-endian,
     * the last eight bytes as they are (UEFI spec, appendix A).
     */
    static UUID guid(ByteBuffer buffer, int at) {
        long high = uint32(buffer, at) << 32 | (buffer.getShort(at + 4) & 0xffffL) << 16 | buffer.getShort(at + 6) & 0xffffL;
        return new UUID(high, Long.reverseBytes(buffer.getLong(at + 8)));
    }
}
