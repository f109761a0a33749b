package dev.sprout.layer;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockException;
import dev.sprout.block.Extent;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.block.RequestContext;
import dev.sprout.block.ZeroFlags;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A layer that writes one line per request, appended to {@code file=PATH} or to stderr, and
 * changes nothing else. Each line is space-separated {@code key=value} pairs after a timestamp,
 * always the same keys in the same order:
 *
 * <pre>2026-11-22T02:18:04.123456Z id=17 op=write offset=4096 length=512 flags=fua result=OK us=35 conn=3 cookie=42</pre>
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
 *   <li>{@code conn}, {@code cookie}: the client's connection number and its handle for the
 *       request (see {@link RequestContext}), or {@code -} when the call came from no client.</li>
 * </ul>
 * The layer's own events have {@code event=} instead of {@code id=}: {@code event=open
 * size=BYTES device=DESCRIPTION} and {@code event=close requests=N}.
 *
 * <p>It logs what the device sees, not what the client sent: requests the server refuses itself
 * never arrive.
 *
 * <p>Lines go through a buffer under a lock ({@link LogOutput}), flushed every second, on every
 * flush request and on close. Logging never changes a request's result: a failing log write is
 * reported once on stderr and later lines are still attempted.
 */
public final class LoggingDevice extends ForwardingBlockDevice {


    private final LogOutput out;
    /** The last request id handed out. */
    private final AtomicLong ids = new AtomicLong();

    LoggingDevice(BlockDevice in, LogOutput out) {
        super(in);
        this.out = out;
        out.line(Instant.now(), "event=open size=" + in.size() + " device=" + in);
    }

    /** {@code log[:file=PATH]}: append to PATH, or write to stderr. */
    static BlockDevice create(BlockDevice in, LayerParameters p) throws IOException {
        p.accept("file");
        Path file = p.path("file").orElse(null);
        return new LoggingDevice(in, file == null ? LogOutput.stderr() : LogOutput.append(file));
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
        String names = (flags.fua() ? ",fua" : "") + (flags.noHole() ? ",nohole" : "") + (flags.fast() ? ",fast" : "");
        logged("zero", offset, length, names.isEmpty() ? "-" : names.substring(1), () -> in.zero(offset, length, flags));
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
        try {
            in.close();
        } finally {
            out.line(Instant.now(), "event=close requests=" + ids.get());
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
            out.line(at, "id=" + id + " op=" + op + " offset=" + offset + " length=" + length + " flags=" + flags
                    + " result=" + result + " us=" + micros + client());
        }
    }

    /** The client's connection and request cookie, or dashes when no server is calling. */
    private static String client() {
        return RequestContext.current()
                .map(c -> " conn=" + c.connection() + " cookie=" + Long.toUnsignedString(c.cookie()))
                .orElse(" conn=- cookie=-");
    }
}
