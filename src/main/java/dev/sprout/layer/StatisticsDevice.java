package dev.sprout.layer;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.block.ZeroFlags;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A layer that counts, per operation, requests, bytes, errors and latency percentiles, and
 * changes nothing else. On close it prints a short table on stderr; with {@code file=PATH} it also
 * writes the counters as JSON every {@code interval=SECONDS} (default 10) and on close, through a
 * temporary file renamed over PATH, so a reader never sees half a document:
 *
 * <pre>{
 *   "device": "Memory(64M)",
 *   "time": "2026-11-22T02:18:04.123456Z",
 *   "seconds": 12.031,
 *   "operations": {
 *     "read": {"count": 120, "bytes": 491520, "errors": 0, "latency_ns": {"p50": 8191, "p90": 20479, "p99": 40959, "max": 41230}},
 *     ...
 *   }
 * }</pre>
 *
 * {@code device} is what this layer wraps, {@code time} when the counters were read (UTC),
 * {@code seconds} how long the layer had been open. {@code operations} always holds read, write,
 * zero, trim, flush, cache and extents in that order. {@code count} includes failed requests,
 * {@code errors} counts them, {@code bytes} sums the lengths of the requests that succeeded (the
 * range asked about for cache and extents, 0 for flush). Latencies are nanoseconds spent below
 * this layer, failed requests included; percentiles are by nearest rank and at most 1/32 above
 * the true value (see {@link LatencyHistogram}), {@code max} is exact; all are 0 before the first
 * request.
 */
public final class StatisticsDevice extends ForwardingBlockDevice {

    private final Map<Operation, OperationCounters> counters = new EnumMap<>(Operation.class);
    /** Where the JSON goes, or null. */
    private final Path file;
    /** Where the table goes on close. */
    private final PrintStream console;
    private final long startNanos = System.nanoTime();
    /** Writes the file every interval until {@link #closing} is released; null without a file. */
    private final Thread writer;
    private final CountDownLatch closing = new CountDownLatch(1);
    /** Set once a failure to write the file has been reported. */
    private final AtomicBoolean failed = new AtomicBoolean();

    /** Writes the file once at once, so a path that cannot be written fails at start-up. */
    StatisticsDevice(BlockDevice in, Path file, Duration interval, PrintStream console) throws IOException {
        super(in);
        for (Operation op : Operation.values()) {
            counters.put(op, new OperationCounters());
        }
        this.file = file;
        this.console = console;
        if (file != null) {
            try {
                store(report());
            } catch (IOException e) {
                throw new IOException("layer 'stats': cannot write " + file + ": " + e.getMessage(), e);
            }
        }
        this.writer = file == null ? null : Thread.ofVirtual().name("stats writer").start(() -> {
            try {
                while (!closing.await(interval.toNanos(), TimeUnit.NANOSECONDS)) {
                    writeFile(report());
                }
            } catch (InterruptedException e) {
                // nobody interrupts it; close() writes the file anyway
            }
        });
    }

    /** {@code stats[:file=PATH][,interval=SECONDS]}. */
    static BlockDevice create(BlockDevice in, LayerParameters p) throws IOException {
        p.accept("file", "interval");
        long seconds = p.number("interval").orElse(10L);
        if (seconds == 0) {
            throw new IllegalArgumentException("layer 'stats': invalid interval='0'; expected a whole number of seconds, at least 1");
        }
        return new StatisticsDevice(in, p.path("file").orElse(null), Duration.ofSeconds(seconds), System.err);
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        counted(Operation.READ, dst.remaining(), () -> in.read(offset, dst));
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        counted(Operation.WRITE, src.remaining(), () -> in.write(offset, src, fua));
    }

    @Override
    public void flush() throws IOException {
        counted(Operation.FLUSH, 0, in::flush);
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        counted(Operation.TRIM, length, () -> in.trim(offset, length, fua));
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws IOException {
        counted(Operation.ZERO, length, () -> in.zero(offset, length, flags));
    }

    @Override
    public void cache(long offset, long length) throws IOException {
        counted(Operation.CACHE, length, () -> in.cache(offset, length));
    }

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        long start = System.nanoTime();
        boolean succeeded = false;
        try {
            List<Extent> extents = in.extents(offset, length);
            succeeded = true;
            return extents;
        } finally {
            counters.get(Operation.EXTENTS).record(length, System.nanoTime() - start, succeeded);
        }
    }

    /** Writes the last report and prints the table, then closes the device below. */
    @Override
    public void close() throws IOException {
        closing.countDown();
        try {
            if (writer != null) {
                writer.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        StatisticsReport report = report();
        if (file != null) {
            writeFile(report);
        }
        console.print(report.table());
        console.flush();
        in.close();
    }

    /** The counters now. */
    StatisticsReport report() {
        Map<Operation, OperationCounters.Summary> summaries = new EnumMap<>(Operation.class);
        counters.forEach((op, c) -> summaries.put(op, c.summary()));
        return new StatisticsReport(in.toString(), Instant.now(), (System.nanoTime() - startNanos) / 1e9, summaries);
    }

    private interface Action {
        void run() throws IOException;
    }

    private void counted(Operation op, long length, Action action) throws IOException {
        long start = System.nanoTime();
        boolean succeeded = false;
        try {
            action.run();
            succeeded = true;
        } finally {
            counters.get(op).record(length, System.nanoTime() - start, succeeded);
        }
    }

    private void writeFile(StatisticsReport report) {
        try {
            store(report);
        } catch (IOException | RuntimeException e) {
            if (failed.compareAndSet(false, true)) {
                console.println("sprout: stats layer: cannot write " + file + ": " + e + "; will keep trying");
            }
        }
    }

    /** Writes a temporary file beside {@link #file} and renames it over it. */
    private void store(StatisticsReport report) throws IOException {
        Path temporary = file.resolveSibling("." + file.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        try {
            // A FileOutputStream, unlike a channel, survives an interrupted thread.
            try (OutputStream out = new FileOutputStream(temporary.toFile())) {
                out.write(report.json().getBytes(StandardCharsets.UTF_8));
            }
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }
}
