package dev.sprout.layer;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.block.ZeroFlags;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A layer that counts, per operation, requests, bytes, errors and latency percentiles, and
 * changes nothing else. On close it prints a short table on stderr; with {@code file=PATH} it also
 * writes the counters as JSON (shape in {@link StatisticsReport}) at once, every
 * {@code interval=SECONDS} (default 10) and on close, always through a temporary file renamed
 * over PATH, so a reader never sees half a document. Counting is lock-free.
 */
public final class StatisticsDevice extends ForwardingBlockDevice {

    private final Map<Operation, OperationCounters> counters = new EnumMap<>(Operation.class);
    /** When the layer was opened, by {@link System#nanoTime}. */
    private final long startNanos = System.nanoTime();
    /** The JSON file kept current, or null. */
    private final StatisticsFile file;
    /** Where the table goes on close: stderr. */
    private final PrintStream console;

    /** With a {@code file}, writes it at once, so a path that cannot be written fails at start-up. */
    StatisticsDevice(BlockDevice in, Path file, Duration interval, PrintStream console) throws IOException {
        super(in);
        for (Operation op : Operation.values()) {
            counters.put(op, new OperationCounters());
        }
        this.console = console;
        this.file = file == null ? null : new StatisticsFile(file, interval, this::report, console);
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
        return countedCall(Operation.EXTENTS, length, () -> in.extents(offset, length));
    }

    /** Writes the last report and prints the table, then closes the device below. */
    @Override
    public void close() throws IOException {
        StatisticsReport report = report();
        if (file != null) {
            file.close(report);
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

    private interface Call<T> {
        T run() throws IOException;
    }

    private void counted(Operation op, long length, Action action) throws IOException {
        countedCall(op, length, () -> {
            action.run();
            return null;
        });
    }

    private <T> T countedCall(Operation op, long length, Call<T> call) throws IOException {
        long start = System.nanoTime();
        boolean succeeded = false;
        try {
            T value = call.run();
            succeeded = true;
            return value;
        } finally {
            counters.get(op).record(length, System.nanoTime() - start, succeeded);
        }
    }
}
