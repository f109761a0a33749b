package dev.sprout.layer;

import java.io.BufferedWriter;
import java.io.FileNotFoundException;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
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
 * requests never interleave and rarely wait for I/O, flushed every second. Failures never reach
 * the caller; the first is reported and later lines are still attempted.
 */
final class LogOutput {

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);
    private static final long FLUSH_MILLIS = 1000;

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
    /** Released by {@link #close}; stops the flusher. */
    private final CountDownLatch closing = new CountDownLatch(1);
    /** Whether lines were written since the last flush. */
    private boolean dirty; // guarded by lock

    /** Lines to {@code writer}, described as {@code target}; the first failure is told to {@code complaints}. */
    LogOutput(Writer writer, String target, boolean owned, PrintStream complaints) {
        this.writer = new BufferedWriter(writer, 64 * 1024);
        this.target = target;
        this.owned = owned;
        this.complaints = complaints;
        Thread.ofVirtual().name("log flusher").start(this::flushPeriodically);
    }

    /** Lines appended to {@code file}, which is created if needed. */
    static LogOutput append(Path file) throws IOException {
        try {
            // A FileOutputStream, unlike a channel, is not closed when a writing thread is interrupted.
            Writer writer = new OutputStreamWriter(new FileOutputStream(file.toFile(), true), StandardCharsets.UTF_8);
            return new LogOutput(writer, file.toString(), true, System.err);
        } catch (FileNotFoundException e) {
            throw new IOException("layer 'log': cannot append to " + e.getMessage(), e);
        }
    }

    /** Lines to stderr, which stays open. */
    static LogOutput stderr() {
        return new LogOutput(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), "stderr", false, System.err);
    }

    /** Appends a line: {@code time} in the log's format, a space, then {@code fields}. */
    void line(Instant time, String fields) {
        String line = TIME.format(time) + " " + fields + "\n";
        lock.lock();
        try {
            writer.write(line);
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
        closing.countDown();
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
