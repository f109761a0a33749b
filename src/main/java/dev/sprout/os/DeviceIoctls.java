package dev.sprout.os;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The block device ioctl(2)s of one {@link NativeFile} opened on a block device (linux/fs.h):
 * its size, its logical block size, and discarding or zeroing ranges without writing.
 */
public final class DeviceIoctls {

    // linux/fs.h: _IO(0x12, n) and _IOR(0x12, 114, size_t); the same on every 64-bit architecture the JDK supports.
    private static final long BLKSSZGET = 0x1268;
    private static final long BLKDISCARD = 0x1277;
    private static final long BLKDISCARDZEROES = 0x127c;
    private static final long BLKZEROOUT = 0x127f;
    private static final long BLKGETSIZE64 = 0x80081272L;

    /** The device's descriptor. */
    private final NativeFile file;

    public DeviceIoctls(NativeFile file) {
        this.file = file;
    }

    /** The size in bytes (BLKGETSIZE64). */
    public long size() throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment size = arena.allocate(ValueLayout.JAVA_LONG);
            file.ioctl("BLKGETSIZE64", BLKGETSIZE64, size);
            return size.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /** The logical block size: the unit of addressing, 512 or 4096 (BLKSSZGET). */
    public int logicalBlockSize() throws NativeException {
        return intResult("BLKSSZGET", BLKSSZGET);
    }

    /**
     * Whether discarded blocks are guaranteed to read as zeroes (BLKDISCARDZEROES). Linux answers
     * no for every device since 4.12, so a discard is never taken for zeroing unless it says so.
     */
    public boolean discardZeroes() throws NativeException {
        return intResult("BLKDISCARDZEROES", BLKDISCARDZEROES) != 0;
    }

    /** Discards the range (BLKDISCARD): the device may free it; what it reads afterwards is unspecified. */
    public void discard(long offset, long length) throws NativeException {
        range("BLKDISCARD", BLKDISCARD, offset, length);
    }

    /** Zeroes the range (BLKZEROOUT): the device writes zeroes or zeroes it by a cheaper command of its own. */
    public void zeroOut(long offset, long length) throws NativeException {
        range("BLKZEROOUT", BLKZEROOUT, offset, length);
    }

    private int intResult(String name, long request) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(ValueLayout.JAVA_INT);
            file.ioctl(name, request, value);
            return value.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** A range ioctl: {@code uint64_t range[2] = {offset, length}}, both multiples of the logical block size. */
    private void range(String name, long request, long offset, long length) throws NativeException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment range = arena.allocate(ValueLayout.JAVA_LONG, 2);
            range.setAtIndex(ValueLayout.JAVA_LONG, 0, offset);
            range.setAtIndex(ValueLayout.JAVA_LONG, 1, length);
            file.ioctl(name + "(" + offset + "+" + length + ")", request, range);
        }
    }
}
