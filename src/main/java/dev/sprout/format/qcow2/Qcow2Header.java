package dev.sprout.format.qcow2;

import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The qcow2 header and its extensions (qcow2.txt: "Header", "Header extensions"), parsed and
 * checked so that nothing an implementation must understand is silently ignored.
 *
 * @param version              2 or 3
 * @param clusterBits          log2 of the cluster size, 9..21
 * @param size                 the virtual disk size in bytes
 * @param l1Size               entries in the active L1 table
 * @param l1Offset             where the L1 table starts
 * @param refcountTableOffset  where the refcount table starts
 * @param refcountTableClusters clusters the refcount table occupies
 * @param snapshots            the number of internal snapshots
 * @param incompatible         incompatible feature bits (only dirty, corrupt and compression type remain)
 * @param compatible           compatible feature bits
 * @param autoclear            auto-clear feature bits
 * @param refcountOrder        log2 of the refcount width in bits
 * @param headerLength         bytes of the fixed header
 * @param compressionType      0 for deflate, 1 for zstd
 * @param backingFile          the backing file name as stored
 * @param backingFormat        the backing format extension, if present
 * @param externalBacking      sprout's extension: the device a cow layer supplied as backing when it
 *                             created the image, for an overlay that names no backing file
 */
record Qcow2Header(int version, int clusterBits, long size, int l1Size, long l1Offset, long refcountTableOffset,
                   int refcountTableClusters, int snapshots, long incompatible, long compatible, long autoclear,
                   int refcountOrder, int headerLength, int compressionType, Optional<String> backingFile,
                   Optional<String> backingFormat, Optional<String> externalBacking) {

    /** A header without sprout's external-backing extension. */
    Qcow2Header(int version, int clusterBits, long size, int l1Size, long l1Offset, long refcountTableOffset,
                int refcountTableClusters, int snapshots, long incompatible, long compatible, long autoclear,
                int refcountOrder, int headerLength, int compressionType, Optional<String> backingFile,
                Optional<String> backingFormat) {
        this(version, clusterBits, size, l1Size, l1Offset, refcountTableOffset, refcountTableClusters, snapshots,
                incompatible, compatible, autoclear, refcountOrder, headerLength, compressionType, backingFile,
                backingFormat, Optional.empty());
    }

    static final int MAGIC = 0x514649fb;
    static final long DIRTY = 1;
    static final long CORRUPT = 1 << 1;
    static final long EXTERNAL_DATA = 1 << 2;
    static final long COMPRESSION_TYPE = 1 << 3;
    static final long EXTENDED_L2 = 1 << 4;
    static final long LAZY_REFCOUNTS = 1;
    static final int EXT_END = 0;
    static final int EXT_BACKING_FORMAT = 0xe2792aca;
    static final int EXT_FEATURE_NAMES = 0x6803f857;
    static final int EXT_ENCRYPTION = 0x0537be77;
    static final int EXT_DATA_FILE = 0x44415441;
    /**
     * sprout's own extension ("sprt"): the overlay's backing device is supplied from outside the
     * image (by a cow layer). qcow2.txt: unknown header extensions "can be safely ignored".
     */
    static final int EXT_EXTERNAL_BACKING = 0x73707274;
    /** The v3 header sprout writes: the 104 mandatory bytes, compression_type and padding. */
    static final int V3_LENGTH = 112;

    long clusterSize() {
        return 1L << clusterBits;
    }

    int refcountBits() {
        return 1 << refcountOrder;
    }

    /** Why sprout must not write this image, or null when it may (a dirty one after {@link RefcountRebuild}). */
    String writeRefusal() {
        return version != 3 ? "is version 2 (qemu-img amend -o compat=1.1 upgrades it)"
                : refcountBits() != 16 ? "has " + refcountBits() + "-bit refcounts (only 16 are written)"
                : (incompatible & CORRUPT) != 0 ? "is marked corrupt"
                : snapshots != 0 ? "has internal snapshots"
                : null;
    }

    /** Reads and checks the header of {@code name}, refusing what sprout cannot read correctly. */
    static Qcow2Header read(FileChannel channel, String name) throws IOException {
        ByteBuffer head = ByteBuffer.allocate(V3_LENGTH);
        readFully(channel, head, 0, name);
        head.flip();
        if (head.remaining() < 72 || head.getInt(0) != MAGIC) {
            throw invalid(name + ": not a qcow2 image (no QFI\\xfb magic)");
        }
        int version = head.getInt(4);
        if (version != 2 && version != 3) {
            throw invalid(name + ": qcow2 version " + version + " is not supported (2 and 3 are)");
        }
        long backingOffset = head.getLong(8);
        int backingSize = head.getInt(16);
        int clusterBits = head.getInt(20);
        if (clusterBits < 9 || clusterBits > 21) {
            throw invalid(name + ": cluster_bits " + clusterBits + " outside 9..21 (512 B..2 MiB)");
        }
        long size = head.getLong(24);
        int crypt = head.getInt(32);
        if (crypt != 0) {
            throw invalid(name + ": encrypted (" + (crypt == 1 ? "AES" : crypt == 2 ? "LUKS" : "method " + crypt)
                    + ") images are not supported");
        }
        long incompatible = 0;
        long compatible = 0;
        long autoclear = 0;
        int refcountOrder = 4;
        int headerLength = 72;
        int compressionType = 0;
        if (version == 3) {
            if (head.remaining() < 104) {
                throw invalid(name + ": truncated v3 header");
            }
            incompatible = head.getLong(72);
            compatible = head.getLong(80);
            autoclear = head.getLong(88);
            refcountOrder = head.getInt(96);
            headerLength = head.getInt(100);
            if (headerLength < 104 || headerLength % 8 != 0 || headerLength > (1 << clusterBits)) {
                throw invalid(name + ": bad header_length " + headerLength);
            }
            if (refcountOrder > 6) {
                throw invalid(name + ": refcount_order " + refcountOrder + " above 6");
            }
            if (headerLength > 104 && head.remaining() > 104) {
                compressionType = head.get(104) & 0xff;
            }
        }
        Map<Integer, byte[]> extensions = extensions(channel, version == 2 ? 72 : headerLength, 1 << clusterBits, name);
        checkIncompatible(incompatible, compressionType, extensions, name);
        Optional<String> backing = Optional.empty();
        if (backingOffset != 0) {
            if (backingSize <= 0 || backingSize > 1023) {
                throw invalid(name + ": backing file name length " + backingSize + " outside 1..1023");
            }
            ByteBuffer nameBytes = ByteBuffer.allocate(backingSize);
            readFully(channel, nameBytes, backingOffset, name);
            backing = Optional.of(new String(nameBytes.array(), 0, nameBytes.position(), StandardCharsets.UTF_8));
        }
        Optional<String> backingFormat = Optional.ofNullable(extensions.get(EXT_BACKING_FORMAT))
                .map(b -> new String(b, StandardCharsets.UTF_8));
        Optional<String> externalBacking = Optional.ofNullable(extensions.get(EXT_EXTERNAL_BACKING))
                .map(b -> new String(b, StandardCharsets.UTF_8));
        return new Qcow2Header(version, clusterBits, size, head.getInt(36), head.getLong(40), head.getLong(48),
                head.getInt(56), head.getInt(60), incompatible, compatible, autoclear, refcountOrder, headerLength,
                compressionType, backing, backingFormat, externalBacking);
    }

    /** qcow2.txt: "An implementation must fail to open an image if an unknown bit is set." */
    private static void checkIncompatible(long bits, int compressionType, Map<Integer, byte[]> extensions, String name)
            throws DeviceException {
        List<String> refused = new ArrayList<>();
        Map<Integer, String> names = featureNames(extensions.get(EXT_FEATURE_NAMES));
        for (int bit = 0; bit < 64; bit++) {
            long mask = 1L << bit;
            if ((bits & mask) == 0 || mask == DIRTY || mask == CORRUPT || mask == COMPRESSION_TYPE) {
                continue;
            }
            String known = mask == EXTERNAL_DATA ? "external data file" : mask == EXTENDED_L2 ? "extended L2 entries (subclusters)" : null;
            refused.add(known != null ? known : names.getOrDefault(bit, "unknown incompatible feature bit " + bit));
        }
        if (extensions.containsKey(EXT_DATA_FILE) && refused.isEmpty()) {
            refused.add("external data file");
        }
        if (!refused.isEmpty()) {
            throw invalid(name + ": uses " + String.join(", ", refused) + ", which sprout does not support");
        }
        boolean typed = (bits & COMPRESSION_TYPE) != 0;
        if (typed != (compressionType != 0) || compressionType > 1) {
            throw invalid(name + ": compression type " + compressionType
                    + (compressionType > 1 ? " is unknown (0 zlib, 1 zstd)" : " disagrees with the compression type feature bit"));
        }
    }

    /** The extensions after the header, by type; unknown ones are kept and ignored. */
    private static Map<Integer, byte[]> extensions(FileChannel channel, int start, int clusterSize, String name)
            throws IOException {
        Map<Integer, byte[]> found = new HashMap<>();
        ByteBuffer area = ByteBuffer.allocate(clusterSize - start);
        readFully(channel, area, start, name);
        area.flip();
        while (area.remaining() >= 8) {
            int type = area.getInt();
            int length = area.getInt();
            if (type == EXT_END) {
                break;
            }
            if (length < 0 || length > area.remaining()) {
                throw invalid(name + ": header extension 0x" + Integer.toHexString(type) + " overruns the first cluster");
            }
            byte[] data = new byte[length];
            area.get(data);
            area.position(Math.min(area.limit(), area.position() + (8 - length % 8) % 8));
            if (type == EXT_ENCRYPTION) {
                throw invalid(name + ": has a full disk encryption header; encryption is not supported");
            }
            found.put(type, data);
        }
        return found;
    }

    /** The feature name table: bit number to name, incompatible features only. */
    private static Map<Integer, String> featureNames(byte[] table) {
        Map<Integer, String> names = new HashMap<>();
        if (table == null) {
            return names;
        }
        for (int at = 0; at + 48 <= table.length; at += 48) {
            if (table[at] == 0) {
                int end = at + 2;
                while (end < at + 48 && table[end] != 0) {
                    end++;
                }
                names.put(table[at + 1] & 0xff, new String(table, at + 2, end - at - 2, StandardCharsets.UTF_8));
            }
        }
        return names;
    }

    /** A header or table sprout cannot read correctly; names the file and the feature. */
    static DeviceException invalid(String message) {
        return new DeviceException(Errno.EIO, message);
    }

    /** Reads up to {@code dst}'s limit from {@code offset}, stopping early only at the end of the file. */
    static void readFully(FileChannel channel, ByteBuffer dst, long offset, String name) throws IOException {
        long at = offset;
        while (dst.hasRemaining()) {
            int n = channel.read(dst, at);
            if (n < 0) {
                return;
            }
            at += n;
        }
    }
}
