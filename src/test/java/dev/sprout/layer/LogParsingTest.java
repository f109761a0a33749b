package dev.sprout.layer;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockException;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.Extent;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.block.RequestException;
import dev.sprout.block.ZeroFlags;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.LongStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/** The log layer's lines, parsed back with the documented format, are exactly the requests made. */
class LogParsingTest {

    /** What a line says about one request, the fields a reader checks. */
    record Request(String op, long offset, long length, String flags, String result) {
    }

    /** One parsed request line. */
    record LogLine(Instant time, long id, Request request, long micros, String connection) {

        private static final Pattern FORMAT = Pattern.compile("(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z)"
                + " id=(\\d+) op=(read|write|zero|trim|flush|cache|extents) offset=(\\d+) length=(\\d+)"
                + " flags=(-|(?:fua|nohole|fast)(?:,(?:fua|nohole|fast))*) result=(OK|E[A-Z]+) us=(\\d+) conn=(\\S+) cookie=(\\S+)");

        static LogLine parse(String line) {
            Matcher m = FORMAT.matcher(line);
            assertThat(m.matches()).as("documented format: %s", line).isTrue();
            return new LogLine(Instant.parse(m.group(1)), Long.parseLong(m.group(2)),
                    new Request(m.group(3), Long.parseLong(m.group(4)), Long.parseLong(m.group(5)), m.group(6), m.group(7)),
                    Long.parseLong(m.group(8)), m.group(9));
        }
    }

    private static final long SIZE = 1 << 20;
    /** Requests touching this block fail with ENOSPC (modifications) or EIO (the rest). */
    static final long BAD = 512 * 1024;
    /** Requests touching this block hit a bug: an unexpected runtime exception. */
    static final long BUG = 768 * 1024;

    /** Fails requests touching {@link #BAD} or {@link #BUG}, refuses fast zeroes, fails flush when armed. */
    static final class FailingDevice extends ForwardingBlockDevice {

        volatile boolean failFlush;

        FailingDevice(BlockDevice in) {
            super(in);
        }

        private void check(long offset, long length, Errno errno) throws IOException {
            if (offset < BAD + 4096 && offset + length > BAD) {
                throw new DeviceException(errno, "bad block");
            }
            if (offset < BUG + 4096 && offset + length > BUG) {
                throw new IllegalStateException("bug");
            }
        }

        @Override
        public void read(long offset, ByteBuffer dst) throws IOException {
            check(offset, dst.remaining(), Errno.EIO);
            in.read(offset, dst);
        }

        @Override
        public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
            check(offset, src.remaining(), Errno.ENOSPC);
            in.write(offset, src, fua);
        }

        @Override
        public void zero(long offset, long length, ZeroFlags flags) throws IOException {
            if (flags.fast()) {
                throw RequestException.notFast(this);
            }
            check(offset, length, Errno.ENOSPC);
            in.zero(offset, length, flags);
        }

        @Override
        public void trim(long offset, long length, boolean fua) throws IOException {
            check(offset, length, Errno.ENOSPC);
            in.trim(offset, length, fua);
        }

        @Override
        public void flush() throws IOException {
            if (failFlush) {
                throw new DeviceException(Errno.EIO, "flush failed");
            }
            in.flush();
        }

        @Override
        public List<Extent> extents(long offset, long length) throws IOException {
            check(offset, length, Errno.EIO);
            return in.extents(offset, length);
        }
    }

    @Test
    void linesParseBackIntoExactlyTheRequestsMadeIncludingFailedOnes() throws IOException {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        FailingDevice failing = new FailingDevice(MemoryBlockDevice.create(SIZE));
        LogOutput output = new LogOutput(log, "test", true, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        List<Request> made = new ArrayList<>();
        try (LoggingDevice device = new LoggingDevice(failing, output)) {
            run(made, new Request("write", 0, 4096, "-", "OK"), () -> device.write(0, ByteBuffer.allocate(4096), false));
            run(made, new Request("write", 4095, 3, "fua", "OK"), () -> device.write(4095, ByteBuffer.allocate(3), true));
            run(made, new Request("write", BAD - 1, 2, "fua", "ENOSPC"), () -> device.write(BAD - 1, ByteBuffer.allocate(2), true));
            run(made, new Request("read", 0, 65536, "-", "OK"), () -> device.read(0, ByteBuffer.allocate(65536)));
            run(made, new Request("read", BAD + 4095, 1, "-", "EIO"), () -> device.read(BAD + 4095, ByteBuffer.allocate(1)));
            run(made, new Request("read", BUG, 10, "-", "EIO"), () -> device.read(BUG, ByteBuffer.allocate(10)));
            run(made, new Request("zero", 8192, 100, "nohole", "OK"), () -> device.zero(8192, 100, new ZeroFlags(true, false, false)));
            run(made, new Request("zero", 8192, 100, "fast", "ENOTSUP"), () -> device.zero(8192, 100, new ZeroFlags(false, true, false)));
            run(made, new Request("zero", BAD, 1, "fua", "ENOSPC"), () -> device.zero(BAD, 1, new ZeroFlags(false, false, true)));
            run(made, new Request("trim", 4096, SIZE - 4096, "-", "ENOSPC"), () -> device.trim(4096, SIZE - 4096, false));
            run(made, new Request("trim", 12288, 4096, "fua", "OK"), () -> device.trim(12288, 4096, true));
            run(made, new Request("cache", 0, SIZE, "-", "OK"), () -> device.cache(0, SIZE));
            run(made, new Request("extents", 0, 4096, "-", "OK"), () -> device.extents(0, 4096));
            run(made, new Request("extents", BUG - 1, 2, "-", "EIO"), () -> device.extents(BUG - 1, 2));
            run(made, new Request("flush", 0, 0, "-", "OK"), device::flush);
            failing.failFlush = true;
            run(made, new Request("flush", 0, 0, "-", "EIO"), device::flush);
        }
        List<String> lines = log.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines.getFirst()).contains(" event=open ");
        assertThat(lines.getLast()).endsWith(" event=close requests=" + made.size());
        List<LogLine> parsed = lines.subList(1, lines.size() - 1).stream().map(LogLine::parse).toList();
        assertThat(parsed).extracting(LogLine::request).containsExactlyElementsOf(made);
        assertThat(parsed).extracting(LogLine::id).containsExactlyElementsOf(
                LongStream.rangeClosed(1, made.size()).boxed().toList());
        assertThat(parsed).extracting(LogLine::time).isSorted();
    }

    private interface Action {
        void run() throws IOException;
    }

    /** Runs {@code action}, expecting {@code request.result()}, and remembers the request. */
    private static void run(List<Request> made, Request request, Action action) {
        Throwable failure = catchThrowable(action::run);
        if (request.result().equals("OK")) {
            assertThat(failure).as("%s", request).isNull();
        } else if (failure instanceof BlockException e) {
            assertThat(e.errno().name()).as("%s", request).isEqualTo(request.result());
        } else {
            assertThat(failure).as("%s", request).isInstanceOf(IllegalStateException.class);
        }
        made.add(request);
    }
}
