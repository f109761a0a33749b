package dev.sprout.layer;

import java.io.FileDescriptor;
import java.io.FileNotFoundException;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Where a {@link LoggingDevice} writes: whole lines into a buffer under a lock, so concurrent
 * requests never interleave and rarely wait for I/O, flushed every second. Every write to the
 * target holds whole lines, so devices appending to one file (or to stderr) interleave only
 * between lines. Failures never reach the caller: the first is reported, the lines it concerned
 * are dropped and later lines are still attempted.
 */
final class LogOutput {

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);
    private static final long FLUSH_MILLIS = 1000;

    private final ReentrantLock lock = new ReentrantLock();
    /** The target, written only with whole lines. */
    private final OutputStream out;
    /** What the lines go to, for the failure message. */
    private final String target;
    /** Whether {@link #close} closes {@link #out} (not for stderr). */
    private final boolean owned;
    /** Where the first failure is reported: stderr. */
    private final PrintStream complaints;
    /** Set once a failure has been reported. */
    private final AtomicBoolean failed = new AtomicBoolean();
    /** Released by {@link #close}; stops the flusher. */
    private final CountDownLatch closing = new CountDownLatch(1);
    /** Lines not yet written, UTF-8, in {@code [0, used)}. */
    private final byte[] buffer = new byte[64 * 1024]; // guarded by lock
    private int used; // guarded by lock

    /** Lines to {@code out}, described as {@code target}; the first failure is told to {@code complaints}. */
    LogOutput(OutputStream out, String target, boolean owned, PrintStream complaints) {
        this.out = out;
        this.target = target;
        this.owned = owned;
        this.complaints = complaints;
        Thread.ofVirtual().name("log flusher").start(this::flushPeriodically);
    }

    /** Lines appended to {@code file}, which is created if needed. */
    static LogOutput append(Path file) throws IOException {
        try {
            // A FileOutputStream, unlike a channel, is not closed when a writing thread is interrupted.
            return new LogOutput(new FileOutputStream(file.toFile(), true), file.toString(), true, System.err);
        } catch (FileNotFoundException e) {
            throw new IOException("layer 'log': cannot append to " + e.getMessage(), e);
        }
    }

    /** Lines to stderr, which stays open. */
    static LogOutput stderr() {
        return new LogOutput(new FileOutputStream(FileDescriptor.err), "stderr", false, System.err);
    }

    /** Appends a line: {@code time} in the log's format, a space, then {@code fields}. */
    void line(Instant time, String fields) {
        byte[] line = (TIME.format(time) + " " + fields + "\n").getBytes(StandardCharsets.UTF_8);
        lock.lock();
        try {
            if (used + line.length > buffer.length) {
                drain();
            }
            if (line.length > buffer.length) {
                out.write(line);
            } else {
                System.arraycopy(line, 0, buffer, used, line.length);
                used += line.length;
            }
        } catch (IOException | RuntimeException e) {
            report(e);
        } finally {
            lock.unlock();
        }
    }

    /** Writes the buffered lines to the target. */
    void flush() {
        lock.lock();
        try {
            drain();
        } catch (IOException | RuntimeException e) {
            report(e);
        } finally {
            lock.unlock();
        }
    }

    /** Flushes, and closes the target unless it is stderr; later lines are dropped quietly. */
    void close() {
        closing.countDown();
        lock.lock();
        try {
            drain();
            if (owned) {
                out.close();
            }
        } catch (IOException | RuntimeException e) {
            report(e);
        } finally {
            failed.set(true);
            lock.unlock();
        }
    }

    /** Writes {@code buffer[0, used)} in one call and empties it, even if the write fails. */
    private void drain() throws IOException {
        if (used > 0) {
            try {
                out.write(buffer, 0, used);
            } finally {
                used = 0;
            }
        }
    }

    private void flushPeriodically() {
        try {
            while (!closing.await(FLUSH_MILLIS, TimeUnit.MILLISECONDS)) {
                flush();
            }
        } catch (InterruptedException e) {
            // nobody interrupts it; close() flushes anyway
        }
    }

    private void report(Exception e) {
        if (failed.compareAndSet(false, true)) {
            complaints.println("sprout: log layer: cannot write to " + target + ": " + e
                    + "; requests go on, some log lines may be missing");
        }
    }
}
