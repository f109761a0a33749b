package dev.sprout.layer;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The JSON file a {@link StatisticsDevice} keeps current: written at once, then every interval by
 * a virtual thread, and a last time on close; each time through a temporary file renamed over it,
 * so a reader sees the old document or the new one, never half of one.
 */
final class StatisticsFile {

    private final Path path;
    /** Where the first failure to write is reported: stderr. */
    private final PrintStream console;
    /** Set once a failure has been reported. */
    private final AtomicBoolean failed = new AtomicBoolean();
    /** Released by {@link #close}; stops {@link #writer}. */
    private final CountDownLatch closing = new CountDownLatch(1);
    private final Thread writer;

    /** Writes {@code reports.get()} to {@code path} now, failing if it cannot, and then every {@code interval}. */
    StatisticsFile(Path path, Duration interval, Supplier<StatisticsReport> reports, PrintStream console) throws IOException {
        this.path = path;
        this.console = console;
        try {
            write(reports.get());
        } catch (IOException e) {
            throw new IOException("layer 'stats': cannot write " + path + ": " + e.getMessage(), e);
        }
        this.writer = Thread.ofVirtual().name("stats writer").start(() -> {
            try {
                while (!closing.await(interval.toNanos(), TimeUnit.NANOSECONDS)) {
                    writeQuietly(reports.get());
                }
            } catch (InterruptedException e) {
                // nobody interrupts it; close() writes the file anyway
            }
        });
    }

    /** Stops the periodic writes and writes {@code last}. */
    void close(StatisticsReport last) {
        closing.countDown();
        try {
            writer.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        writeQuietly(last);
    }

    private void writeQuietly(StatisticsReport report) {
        try {
            write(report);
        } catch (IOException | RuntimeException e) {
            if (failed.compareAndSet(false, true)) {
                console.println("sprout: stats layer: cannot write " + path + ": " + e + "; will keep trying");
            }
        }
    }

    private void write(StatisticsReport report) throws IOException {
        Path temporary = path.resolveSibling("." + path.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        try {
            // A FileOutputStream, unlike a channel, survives an interrupted thread.
            try (OutputStream out = new FileOutputStream(temporary.toFile())) {
                out.write(report.json().getBytes(StandardCharsets.UTF_8));
            }
            Files.move(temporary, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }
}
