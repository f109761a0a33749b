package dev.sprout.block;

/**
 * The I/O size constraints a device advertises (proto.md: "Block size constraints").
 *
 * @param minimum   the smallest unit of I/O; 1 when unaligned requests work
 * @param preferred the size that avoids read-modify-write overhead
 * @param maximum   the largest payload of a single read or write
 */
public record BlockSizes(int minimum, int preferred, int maximum) {

    /** Byte-granular I/O, 4 KiB preferred, 32 MiB payloads. */
    public static final BlockSizes DEFAULT = new BlockSizes(1, 4096, 32 << 20);

    public BlockSizes {
        if (Integer.bitCount(minimum) != 1 || Integer.bitCount(preferred) != 1
                || preferred < minimum || maximum < preferred || maximum % minimum != 0) {
            throw new IllegalArgumentException(
                    "inconsistent block sizes " + minimum + "/" + preferred + "/" + maximum);
        }
    }
}
