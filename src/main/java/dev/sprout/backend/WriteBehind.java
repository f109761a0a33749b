package dev.sprout.backend;

import dev.sprout.os.NativeException;
import dev.sprout.os.NativeFile;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Write-behind for a file written once in large pieces, like a copy's new destination: each write's
 * pages start going to the disk at once, and what was written more than {@link #WINDOW} bytes ago
 * is waited for and dropped from the page cache. The copy then keeps reusing a few MiB of page
 * cache instead of dirtying pages for the whole file (nbdcopy does the same); fresh pages are the
 * expensive ones, on a VM whose host takes back memory its guest freed.
 */
final class WriteBehind {

    /** How much written data may sit in the page cache before the oldest is dropped. */
    static final long WINDOW = 32L << 20;

    private record Range(long offset, long length) {
    }

    private final NativeFile file;
    /** Ranges written and not yet dropped, oldest first. */
    private final ArrayDeque<Range> written = new ArrayDeque<>();
    private long bytes;

    WriteBehind(NativeFile file) {
        this.file = file;
    }

    /** Called after {@code [offset, offset+length)} was written. */
    void wrote(long offset, long length) throws NativeException {
        file.startWriteback(offset, length);
        List<Range> due = new ArrayList<>();
        synchronized (this) {
            written.add(new Range(offset, length));
            bytes += length;
            while (bytes > WINDOW) {
                Range oldest = written.poll();
                bytes -= oldest.length();
                due.add(oldest);
            }
        }
        for (Range range : due) {
            file.writeBackAndDrop(range.offset(), range.length());
        }
    }
}
