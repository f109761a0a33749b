package dev.sprout.tool;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.PageAlignedBuffer;
import dev.sprout.block.ZeroDetector;
import dev.sprout.block.ZeroFlags;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Copies between a device and a raw byte stream (stdin, stdout), where order matters: reads run
 * ahead in parallel but bytes go out in sequence; from a stream, runs of all-zero 64 KiB blocks
 * become holes, and the stream's length is the size of a new image.
 */
public final class StreamCopy {

    /** Granularity of zero detection in a stream. */
    private static final int ZERO_BLOCK = 64 * 1024;

    private StreamCopy() {
    }

    /**
     * Writes every byte of {@code source} to {@code out} in order, with up to {@code requests} reads
     * ahead, each into a page-aligned buffer that is used again once written. A file descriptor
     * (stdout) is written through its channel, straight from those buffers: through the stream,
     * each MiB went through a fresh heap buffer, the JDK's temporary direct buffer and its native
     * write buffer, and a 4 GiB copy into a pipe cost 1.4 s user, 4.0 s sys and 2.2 GB of memory
     * (now 0.45 s, 2.8 s and 125 MB; nbdcopy 0.08 s and 2.8 s).
     */
    public static Copy.Summary toStream(BlockDevice source, OutputStream out, int requests, Progress progress)
            throws IOException {
        long size = source.size();
        WritableByteChannel channel = out instanceof FileOutputStream file ? file.getChannel() : Channels.newChannel(out);
        Deque<Future<ByteBuffer>> window = new ArrayDeque<>();
        Deque<ByteBuffer> free = new ArrayDeque<>();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (long at = 0; at < size || !window.isEmpty(); ) {
                if (at < size && window.size() < requests) {
                    long offset = at;
                    int length = (int) Math.min(Copy.REQUEST_SIZE, size - at);
                    ByteBuffer buffer = (free.isEmpty() ? PageAlignedBuffer.allocate(Copy.REQUEST_SIZE) : free.pop())
                            .clear().limit(length);
                    window.add(threads.submit(() -> {
                        source.read(offset, buffer.duplicate());
                        return buffer;
                    }));
                    at += length;
                    continue;
                }
                ByteBuffer next = take(window.removeFirst());
                write(channel, next, progress.done(), size);
                progress.advance(next.limit());
                free.push(next);
            }
        } finally {
            window.forEach(f -> f.cancel(true));
        }
        out.flush();
        return new Copy.Summary(size, size, 0, progress.seconds());
    }

    /** Writes all of {@code bytes}; a failure (a reader that went away: broken pipe) says how far it got. */
    private static void write(WritableByteChannel out, ByteBuffer bytes, long done, long size) throws IOException {
        try {
            while (bytes.hasRemaining()) {
                out.write(bytes);
            }
        } catch (IOException e) {
            throw new IOException("writing stdout failed after " + done + " of " + size + " bytes: " + e.getMessage(), e);
        }
    }

    /**
     * Reads {@code in} to its end onto {@code destination}, which must be large enough; runs of
     * all-zero blocks are zeroed (or skipped if {@code fresh}). A shorter stream leaves the rest as it was.
     */
    public static Copy.Summary fromStream(InputStream in, BlockDevice destination, boolean fresh, Progress progress)
            throws IOException {
        Drained drained = drain(in, progress, new Sink() {
            @Override
            public void data(long offset, ByteBuffer bytes) throws IOException {
                if (offset + bytes.remaining() > destination.size()) {
                    throw new IOException("stdin is larger than " + destination + " (" + destination.size() + " bytes)");
                }
                destination.write(offset, bytes, false);
            }

            @Override
            public void zeroes(long offset, int length) throws IOException {
                if (offset + length > destination.size()) {
                    throw new IOException("stdin is larger than " + destination + " (" + destination.size() + " bytes)");
                }
                if (!fresh) {
                    destination.zero(offset, length, ZeroFlags.PUNCH);
                }
            }
        });
        destination.flush();
        return drained.summary(progress);
    }

    /**
     * Reads {@code in} to its end into a new sparse file as long as the stream: zero runs are left
     * as holes; with {@code flush}, the file is on disk when this returns (as {@code copy --flush}).
     */
    public static Copy.Summary fromStreamToFile(InputStream in, Path file, boolean flush, Progress progress)
            throws IOException {
        Drained drained;
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"); FileChannel channel = raf.getChannel()) {
            drained = drain(in, progress, new Sink() {
                @Override
                public void data(long offset, ByteBuffer bytes) throws IOException {
                    long base = offset - bytes.position();
                    while (bytes.hasRemaining()) {
                        channel.write(bytes, base + bytes.position());
                    }
                }

                @Override
                public void zeroes(long offset, int length) {
                    // a hole: the file is extended over it at the end
                }
            });
            raf.setLength(drained.bytes());
            if (flush) {
                channel.force(true);
            }
        }
        return drained.summary(progress);
    }

    /**
     * Reads {@code in} to its end into a new image of {@code format}. A qcow2 image needs its
     * virtual size up front, which a stream tells only at its end: the stream is first spooled
     * into a sparse raw file beside {@code file} (costing the space of its data), then copied in.
     */
    public static Copy.Summary fromStreamToImage(InputStream in, Path file, ImageOpener.OutputFormat format,
                                                 Copy.Options options, PrintStream progress) throws IOException {
        if (format == ImageOpener.OutputFormat.RAW) {
            try (Progress bar = new Progress(0, progress)) {
                return fromStreamToFile(in, file, options.flush(), bar);
            }
        }
        Path spool = file.resolveSibling(file.getFileName() + ".stream");
        try {
            try (Progress bar = new Progress(0, progress)) {
                fromStreamToFile(in, spool, false, bar); // a spool, removed once copied
            }
            try (BlockDevice from = ImageOpener.open(spool.toString(), true);
                 BlockDevice to = ImageOpener.create(file, format, from.size());
                 Progress bar = new Progress(from.size(), progress)) {
                return Copy.run(from, to, options, bar);
            }
        } finally {
            Files.deleteIfExists(spool);
        }
    }

    /** Where the runs of a stream go, in order. */
    private interface Sink {
        void data(long offset, ByteBuffer bytes) throws IOException;

        void zeroes(long offset, int length) throws IOException;
    }

    /** A stream read to its end: its length, and how much of it was data. */
    private record Drained(long bytes, long data) {
        Copy.Summary summary(Progress progress) {
            return new Copy.Summary(bytes, data, bytes - data, progress.seconds());
        }
    }

    /**
     * Reads {@code in} to its end in chunks, handing each run of data or of all-zero
     * {@link #ZERO_BLOCK}s to {@code sink}, in order.
     */
    private static Drained drain(InputStream in, Progress progress, Sink sink) throws IOException {
        ReadableByteChannel channel = in instanceof FileInputStream file ? file.getChannel() : Channels.newChannel(in);
        ByteBuffer buffer = PageAlignedBuffer.allocate(Copy.CHUNK);
        long at = 0;
        long data = 0;
        int n;
        while ((n = fill(channel, buffer.clear(), at)) > 0) {
            int runStart = 0;
            boolean zero = ZeroDetector.isZero(buffer, 0, Math.min(n, ZERO_BLOCK));
            for (int block = 0; block < n; ) {
                int next = Math.min(n, block + ZERO_BLOCK);
                boolean nextZero = next < n && ZeroDetector.isZero(buffer, next, Math.min(n, next + ZERO_BLOCK));
                if (next == n || nextZero != zero) {
                    if (zero) {
                        sink.zeroes(at + runStart, next - runStart);
                    } else {
                        sink.data(at + runStart, buffer.duplicate().limit(next).position(runStart));
                        data += next - runStart;
                    }
                    runStart = next;
                    zero = nextZero;
                }
                block = next;
            }
            at += n;
            progress.advance(n);
        }
        return new Drained(at, data);
    }

    /**
     * Fills {@code buffer} from {@code in} as far as it goes and returns how many bytes it holds; a
     * read failure names stdin and how far it got.
     */
    private static int fill(ReadableByteChannel in, ByteBuffer buffer, long done) throws IOException {
        try {
            while (buffer.hasRemaining() && in.read(buffer) >= 0) {
                // a pipe gives what it has; read on until the buffer is full or the stream ends
            }
            return buffer.position();
        } catch (IOException e) {
            throw new IOException("reading stdin failed after " + done + " bytes: " + e.getMessage(), e);
        }
    }

    private static ByteBuffer take(Future<ByteBuffer> future) throws IOException {
        try {
            return future.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw new IOException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("copy interrupted");
        }
    }
}
