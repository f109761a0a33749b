package dev.sprout.backend;

import dev.sprout.os.NativeException;
import dev.sprout.os.NativeFile;

/**
 * Zeroes ranges of one file with fallocate(2) instead of writing, remembering which modes its file
 * system lacks so later requests go straight to one that works.
 */
final class FileZeroing {

    /** The file to zero ranges of. */
    private final NativeFile file;
    /** Set once FALLOC_FL_PUNCH_HOLE proved unsupported. */
    private volatile boolean noPunch;
    /** Set once FALLOC_FL_ZERO_RANGE proved unsupported (tmpfs, for one). */
    private volatile boolean noZeroRange;
    /** Set once plain allocation proved unsupported. */
    private volatile boolean noAllocate;

    FileZeroing(NativeFile file) {
        this.file = file;
    }

    /**
     * Makes the range read as zeroes without writing them, deallocating it unless {@code noHole}.
     * Returns false when this file system offers no way to; the range is then unchanged, except
     * the first time a file system that punches holes turns out unable to allocate them again:
     * then the range already reads as zeroes, but may be left sparse.
     */
    boolean zero(long offset, long length, boolean noHole) throws NativeException {
        if (!noHole && punch(offset, length)) {
            return true;
        }
        if (zeroRange(offset, length)) {
            return true;
        }
        // As qemu and nbdkit do without ZERO_RANGE: a hole, allocated again to honour NO_HOLE.
        return noHole && !noAllocate && punch(offset, length) && allocate(offset, length);
    }

    private boolean punch(long offset, long length) throws NativeException {
        if (noPunch) {
            return false;
        }
        try {
            file.punchHole(offset, length);
            return true;
        } catch (NativeException e) {
            noPunch = unsupported(e);
            return false;
        }
    }

    private boolean zeroRange(long offset, long length) throws NativeException {
        if (noZeroRange) {
            return false;
        }
        try {
            file.zeroRange(offset, length);
            return true;
        } catch (NativeException e) {
            noZeroRange = unsupported(e);
            return false;
        }
    }

    private boolean allocate(long offset, long length) throws NativeException {
        try {
            file.allocate(offset, length);
            return true;
        } catch (NativeException e) {
            noAllocate = unsupported(e);
            return false;
        }
    }

    /** Returns true for a mode the file system lacks; rethrows any other failure. */
    private static boolean unsupported(NativeException e) throws NativeException {
        if (!e.notSupported()) {
            throw e;
        }
        return true;
    }
}
