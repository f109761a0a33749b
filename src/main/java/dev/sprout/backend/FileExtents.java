package dev.sprout.backend;

import dev.sprout.block.Extent;
import dev.sprout.os.NativeException;
import dev.sprout.os.NativeFile;
import java.util.ArrayList;
import java.util.List;

/**
 * A file's allocation map as lseek(2) SEEK_DATA/SEEK_HOLE find it: holes are unallocated and read
 * as zeroes, everything else is data. Without SEEK_DATA everything is data.
 */
final class FileExtents {

    /** The most extents one {@link #find} call returns; callers ask again for the rest. */
    static final int MAX_EXTENTS = 1024;

    /**
     * How near to 2^63 the end of a file must be for lseek(2) to be distrusted there. tmpfs (seen
     * on Linux 6.18) cannot find data in the last page of a file larger than 2^63-4096 bytes, as
     * rounding its size up to whole pages overflows; 2 MiB covers a huge page too.
     */
    static final long UNTRUSTED_TAIL = 2 << 20;

    /** The file to look into. */
    private final NativeFile file;
    /** Where lseek(2) stops being trusted: from here to the end is reported as data. */
    private final long seekLimit;

    FileExtents(NativeFile file, long size) {
        this.file = file;
        this.seekLimit = size > Long.MAX_VALUE - UNTRUSTED_TAIL ? size & -UNTRUSTED_TAIL : size;
    }

    /**
     * The extents from {@code offset}, contiguous, none past {@code offset + length}, at most
     * {@link #MAX_EXTENTS}. Fails only when lseek(2) fails for a reason other than lacking support.
     */
    List<Extent> find(long offset, long length) throws NativeException {
        long end = offset + length;
        List<Extent> extents = new ArrayList<>();
        try {
            long position = seek(extents, offset, Math.min(end, Math.max(offset, seekLimit)));
            if (position < end && extents.size() < MAX_EXTENTS) {
                Extent tail = Extent.data(position, end - position);
                if (!extents.isEmpty() && extents.getLast().joinsWith(tail)) {
                    Extent last = extents.removeLast();
                    tail = last.withRange(last.offset(), end - last.offset());
                }
                extents.add(tail);
            }
        } catch (NativeException e) {
            if (!e.notSupported()) {
                throw e;
            }
            return List.of(Extent.data(offset, length));
        }
        return extents;
    }

    /** Adds what lseek(2) finds in {@code [from, to)} up to {@link #MAX_EXTENTS}; returns where it stopped. */
    private long seek(List<Extent> extents, long from, long to) throws NativeException {
        long position = from;
        boolean atData = false;
        while (position < to && extents.size() < MAX_EXTENTS) {
            long data = atData ? position : file.seekData(position);
            long dataStart = data < 0 ? to : Math.min(data, to); // ENXIO: a hole to the end
            if (dataStart > position) {
                extents.add(Extent.unallocated(position, dataStart - position));
                position = dataStart;
                atData = true;
                continue;
            }
            long hole = file.seekHole(position);
            long dataEnd = hole < 0 ? to : Math.min(hole, to);
            if (dataEnd > position) { // else a concurrent punch made it a hole: look again
                extents.add(Extent.data(position, dataEnd - position));
                position = dataEnd;
            }
            atData = false;
        }
        return position;
    }
}
