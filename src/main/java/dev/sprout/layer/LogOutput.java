package dev.sprout.layer;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Where a {@link LoggingDevice} writes: whole lines into a buffer under a lock, so concurrent
 * requests never interleave and rarely wait for I/O. Failures never reach the caller; the first
 * is reported on stderr and later lines are still attempted.
 */
final class LogOutput {

    private static final int BUFFER = 64 * 1024;

    private final ReentrantLock lock = new ReentrantLock();
    /** Buffers lines until the next flush. */
    private final BufferedWriter writer;
    /** What the lines go to, for the failure message. */
    private final String target;
    /** Whether {@link #close} closes the writer (not for stderr). */
    private final boolean owned;
    /** Where the first failure is reported: stderr. */
    private final PrintStream complaints;
    /** Set once a failure has been reported. */
    private final AtomicBoolean failed = new AtomicBoolean();
    /** Whether lines were written since the last flush. */
    private boolean dirty; // guarded by lock

    /** Lines to {@code writer}, described as {@code target}; the first failure is told to {@code complaints}. */
    LogOutput(Writer writer, String target, boolean owned, PrintStream complaints) {
        this.writer = new BufferedWriter(writer, BUFFER);
        this.target = target;
        this.owned = owned;
        this.complaints = complaints;
    }

    /** Appends {@code line} and a newline. */
    void line(String line) {
        lock.lock();
        try {
            writer.write(line);
            writer.write('\n');
            dirty = true;
        } catch (IOException | RuntimeException e) {
            report(e);
        } finally {
            lock.unlock();
        }
    }

    /** Pushes buffered lines to the target, if there are any. */
    void flush() {
        lock.lock();
        try {
            if (dirty) {
                dirty = false;
                writer.flush();
            }
        } catch (IOException | RuntimeException e) {
            report(e);
        } finally {
            lock.unlock();
        }
    }

    /** Flushes, and closes the target unless it is stderr; a late {@link #flush} does nothing. */
    void close() {
        lock.lock();
        try {
            dirty = false;
            writer.flush();
            if (owned) {
                writer.close();
            }
        } catch (IOException | RuntimeException e) {
            report(e);
        } finally {
            lock.unlock();
        }
    }

    private void report(Exception e) {
        if (failed.compareAndSet(false, true)) {
            complaints.println("sprout: log layer: cannot write to " + target + ": " + e
                    + "; requests go on, some log lines may be missing");
        }
    }
}
