package dev.sprout.backend;

import dev.sprout.os.NativeException;
import dev.sprout.os.NativeFile;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Write-behind for a file written once in large pieces, like a copy's new destination: each write's
 * pages start going to the disk at once, and what was written more than {@link #WINDOW} bytes ago
 * is waited for and dropped from the page cache. The copy then keeps reusing a few MiB of page
 * cache instead of dirtying pages for the whole file (nbdcopy does the same); fresh pages are the
 * expensive ones, on a VM whose host takes back memory its guest freed.
 *
 * <p>The system calls run on a thread of its own, so that a writer never waits for the disk (a
 * native call would also hold a virtual thread's carrier). A failure other than "not supported"
 * is reported by the next write. Writes are handed to that thread in batches of {@link #BATCH}
 * bytes, whose neighbouring ranges go out as one call. With a task, a wake-up and two system calls
 * per write, a copy of 1 GiB in 64 KiB pieces (out of qemu-nbd, from an image of 64 KiB extents)
 * took 1.83-1.99 s, and this thread a quarter of its CPU time (most of it the writeback itself);
 * batched, 1.77-1.84 s.
 */
final class WriteBehind implements AutoCloseable {

    /** How much written data may sit in the page cache before the oldest is dropped. */
    static final long WINDOW = 32L << 20;
    /** Bytes written before they are handed to the calls thread together. */
    static final long BATCH = 4L << 20;
    /** Ranges of a batch closer than this go out as one, with what lies between. */
    static final long GAP = 1L << 20;

    record Range(long offset, long length) {
    }

    private final NativeFile file;
    private final ExecutorService calls = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("write-behind").factory());
    /** Ranges written and not yet dropped, oldest first; only the calls thread touches it. */
    private final ArrayDeque<Range> written = new ArrayDeque<>();
    private long bytes;
    private volatile NativeException failure;
    /** Ranges written and not yet handed to the calls thread; guarded by itself. */
    private final List<Range> pending = new ArrayList<>();
    /** The bytes of {@link #pending}. */
    private long pendingBytes;

    WriteBehind(NativeFile file) {
        this.file = file;
    }

    /** Called after {@code [offset, offset+length)} was written; throws an earlier call's failure. */
    void wrote(long offset, long length) throws NativeException {
        NativeException failed = failure;
        if (failed != null) {
            throw failed;
        }
        List<Range> batch = null;
        synchronized (pending) {
            pending.add(new Range(offset, length));
            pendingBytes += length;
            if (pendingBytes >= BATCH) {
                batch = List.copyOf(pending);
                pending.clear();
                pendingBytes = 0;
            }
        }
        if (batch != null) {
            List<Range> ranges = batch;
            calls.execute(() -> push(ranges));
        }
    }

    /** Starts the batch's writeback, neighbouring ranges as one, and drops what fell out of the window. */
    private void push(List<Range> batch) {
        try {
            for (Range range : joined(batch)) {
                file.startWriteback(range.offset(), range.length());
                written.add(range);
                bytes += range.length();
                while (bytes > WINDOW) {
                    Range oldest = written.poll();
                    bytes -= oldest.length();
                    file.writeBackAndDrop(oldest.offset(), oldest.length());
                }
            }
        } catch (NativeException e) {
            if (!e.notSupported() && failure == null) {
                failure = e;
            }
        }
    }

    /**
     * The ranges in offset order, those less than {@link #GAP} apart made one: a hole between two
     * pieces of data has no pages to write or drop, and one call over both costs less than two.
     */
    static List<Range> joined(List<Range> ranges) {
        List<Range> sorted = new ArrayList<>(ranges);
        sorted.sort(Comparator.comparingLong(Range::offset));
        List<Range> runs = new ArrayList<>();
        for (Range range : sorted) {
            Range last = runs.isEmpty() ? null : runs.getLast();
            long lastEnd = last == null ? 0 : last.offset() + last.length();
            if (last != null && range.offset() - lastEnd < GAP) {
                long end = Math.max(lastEnd, range.offset() + range.length());
                runs.set(runs.size() - 1, new Range(last.offset(), end - last.offset()));
            } else {
                runs.add(range);
            }
        }
        return runs;
    }

    /** Waits for the calls under way, before the file is closed. */
    @Override
    public void close() throws InterruptedException {
        calls.shutdown();
        calls.awaitTermination(1, TimeUnit.MINUTES);
    }
}
