package dev.sprout.fs;

/**
 * One partition as its table describes it, with byte offsets (sectors of 512 bytes converted).
 *
 * @param number    as Linux numbers it: GPT entry index + 1; MBR primary slots 1-4, logical partitions from 5
 * @param start     the first byte
 * @param size      the size in bytes
 * @param type      the type as the table stores it: a GPT type GUID in upper case, or an MBR type byte as {@code 0x83}
 * @param typeName  a friendly name for common types, else {@code unknown}
 * @param name      the GPT partition name, empty for MBR
 * @param container whether this is an MBR extended partition, which holds the logical ones
 */
public record Partition(int number, long start, long size, String type, String typeName, String name,
                        boolean container) {

    /** The byte after the last. */
    public long end() {
        return start + size;
    }
}
