package dev.sprout.backend;

import dev.sprout.os.NativeException;
import dev.sprout.os.NativeFile;
import java.util.ArrayDeque;
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
 * is reported by the next write.
 */
final class WriteBehind implements AutoCloseable {

    /** How much written data may sit in the page cache before the oldest is dropped. */
    static final long WINDOW = 32L << 20;

    private record Range(long offset, long length) {
    }

    private final NativeFile file;
    private final ExecutorService calls = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().daemon().name("write-behind").factory());
    /** Ranges written and not yet dropped, oldest first; only the calls thread touches it. */
    private final ArrayDeque<Range> written = new ArrayDeque<>();
    private long bytes;
    private volatile NativeException failure;

    WriteBehind(NativeFile file) {
        this.file = file;
    }

    /** Called after {@code [offset, offset+length)} was written; throws an earlier call's failure. */
    void wrote(long offset, long length) throws NativeException {
        NativeException failed = failure;
        if (failed != null) {
            throw failed;
        }
        calls.execute(() -> {
            try {
                file.startWriteback(offset, length);
                written.add(new Range(offset, length));
                bytes += length;
                while (bytes > WINDOW) {
                    Range oldest = written.poll();
                    bytes -= oldest.length();
                    file.writeBackAndDrop(oldest.offset(), oldest.length());
                }
            } catch (NativeException e) {
                if (!e.notSupported() && failure == null) {
                    failure = e;
                }
            }
        });
    }

    /** Waits for the calls under way, before the file is closed. */
    @Override
    public void close() throws InterruptedException {
        calls.shutdown();
        calls.awaitTermination(1, TimeUnit.MINUTES);
    }
}
