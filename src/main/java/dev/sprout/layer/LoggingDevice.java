package dev.sprout.layer;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockException;
import dev.sprout.block.Extent;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.block.ZeroFlags;

import java.io.FileNotFoundException;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A layer that writes one line per request, appended to {@code file=PATH} or to stderr, and
 * changes nothing else. Each line is space-separated {@code key=value} pairs after a timestamp,
 * always the same keys in the same order:
 *
 * <pre>2026-11-22T02:18:04.123456Z id=17 op=write offset=4096 length=512 flags=fua result=OK us=35 thread=conn_3_request</pre>
 *
 * <ul>
 *   <li>the time the request reached this layer, ISO-8601 UTC with microseconds; lines are
 *       written as requests finish, so concurrent requests may appear out of time order;</li>
 *   <li>{@code id}: this layer's request number, from 1, in arrival order;</li>
 *   <li>{@code op}: read, write, zero, trim, flush, cache or extents;</li>
 *   <li>{@code offset}, {@code length}: the byte range (0 and 0 for flush);</li>
 *   <li>{@code flags}: fua, nohole, fast joined by commas, or {@code -} for none;</li>
 *   <li>{@code result}: {@code OK} or the errno name the client gets ({@code EIO} for an
 *       unexpected failure);</li>
 *   <li>{@code us}: the time spent below this layer, in microseconds;</li>
 *   <li>{@code thread}: the calling thread's name with spaces and {@code =} made {@code _} (the
 *       server names them {@code conn N request}), or {@code #ID} if it has none.</li>
 * </ul>
 * The layer's own events have {@code event=} instead of {@code id=}: {@code event=open
 * size=BYTES device=DESCRIPTION} and {@code event=close requests=N}.
 *
 * <p>Lines go through a buffer under a lock, flushed every second, on every flush request and on
 * close. Logging never changes a request's result: a failing log write is reported once on
 * stderr and later lines are still attempted.
 */
public final class LoggingDevice extends ForwardingBlockDevice {

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);
    private static final long FLUSH_MILLIS = 1000;

    private final LogOutput out;
    /** The last request id handed out. */
    private final AtomicLong ids = new AtomicLong();
    /** Flushes the buffer every second so a quiet log is still current, until {@link #closing}. */
    private final Thread flusher;
    /** Released by {@link #close}. */
    private final CountDownLatch closing = new CountDownLatch(1);

    LoggingDevice(BlockDevice in, LogOutput out) {
        super(in);
        this.out = out;
        out.line(TIME.format(Instant.now()) + " event=open size=" + in.size() + " device=" + in);
        this.flusher = Thread.ofVirtual().name("log flusher").start(this::flushPeriodically);
    }

    /** {@code log[:file=PATH]}: append to PATH, or write to stderr. */
    static BlockDevice create(BlockDevice in, LayerParameters p) throws IOException {
        p.accept("file");
        Path file = p.path("file").orElse(null);
        if (file == null) {
            return new LoggingDevice(in, new LogOutput(new OutputStreamWriter(System.err, StandardCharsets.UTF_8),
                    "stderr", false, System.err));
        }
        FileOutputStream stream;
        try {
            // A FileOutputStream, unlike a channel, is not closed when a writing thread is interrupted.
            stream = new FileOutputStream(file.toFile(), true);
        } catch (FileNotFoundException e) {
            throw new IOException("layer 'log': cannot append to " + e.getMessage(), e);
        }
        Writer writer = new OutputStreamWriter(stream, StandardCharsets.UTF_8);
        return new LoggingDevice(in, new LogOutput(writer, file.toString(), true, System.err));
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        logged("read", offset, dst.remaining(), "-", () -> in.read(offset, dst));
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        logged("write", offset, src.remaining(), fua ? "fua" : "-", () -> in.write(offset, src, fua));
    }

    @Override
    public void flush() throws IOException {
        try {
            logged("flush", 0, 0, "-", in::flush);
        } finally {
            out.flush();
        }
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        logged("trim", offset, length, fua ? "fua" : "-", () -> in.trim(offset, length, fua));
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws IOException {
        logged("zero", offset, length, flags(flags), () -> in.zero(offset, length, flags));
    }

    @Override
    public void cache(long offset, long length) throws IOException {
        logged("cache", offset, length, "-", () -> in.cache(offset, length));
    }

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        return loggedCall("extents", offset, length, "-", () -> in.extents(offset, length));
    }

    @Override
    public void close() throws IOException {
        closing.countDown();
        try {
            in.close();
        } finally {
            out.line(TIME.format(Instant.now()) + " event=close requests=" + ids.get());
            out.close();
        }
    }

    private interface Action {
        void run() throws IOException;
    }

    private interface Call<T> {
        T run() throws IOException;
    }

    private void logged(String op, long offset, long length, String flags, Action action) throws IOException {
        loggedCall(op, offset, length, flags, () -> {
            action.run();
            return null;
        });
    }

    private <T> T loggedCall(String op, long offset, long length, String flags, Call<T> call) throws IOException {
        long id = ids.incrementAndGet();
        Instant at = Instant.now();
        long start = System.nanoTime();
        String result = "EIO";
        try {
            T value = call.run();
            result = "OK";
            return value;
        } catch (BlockException e) {
            result = e.errno().name();
            throw e;
        } finally {
            long micros = (System.nanoTime() - start) / 1000;
            out.line(TIME.format(at) + " id=" + id + " op=" + op + " offset=" + offset + " length=" + length
                    + " flags=" + flags + " result=" + result + " us=" + micros + " thread=" + thread());
        }
    }

    private static String flags(ZeroFlags flags) {
        String joined = (flags.fua() ? ",fua" : "") + (flags.noHole() ? ",nohole" : "") + (flags.fast() ? ",fast" : "");
        return joined.isEmpty() ? "-" : joined.substring(1);
    }

    private static String thread() {
        Thread thread = Thread.currentThread();
        String name = thread.getName();
        return name.isBlank() ? "#" + thread.threadId() : name.strip().replaceAll("[\\s=]+", "_");
    }

    private void flushPeriodically() {
        try {
            while (!closing.await(FLUSH_MILLIS, TimeUnit.MILLISECONDS)) {
                out.flush();
            }
        } catch (InterruptedException e) {
            // nobody interrupts it; close() flushes anyway
        }
    }
}
