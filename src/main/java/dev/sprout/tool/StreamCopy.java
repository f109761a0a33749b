package dev.sprout.tool;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.ZeroFlags;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Copies between a device and a raw byte stream (stdin, stdout), where order matters: reads run
 * ahead in parallel but bytes go out in sequence; from a stream, all-zero chunks become holes.
 */
public final class StreamCopy {

    private StreamCopy() {
    }

    /** Writes every byte of {@code source} to {@code out} in order, with up to {@code requests} reads ahead. */
    public static Copy.Summary toStream(BlockDevice source, OutputStream out, int requests, Progress progress)
            throws IOException {
        long size = source.size();
        Deque<Future<ByteBuffer>> window = new ArrayDeque<>();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (long at = 0; at < size || !window.isEmpty(); ) {
                if (at < size && window.size() < requests) {
                    long offset = at;
                    int length = (int) Math.min(Copy.CHUNK, size - at);
                    window.add(threads.submit(() -> {
                        ByteBuffer buffer = ByteBuffer.allocate(length);
                        source.read(offset, buffer);
                        return buffer;
                    }));
                    at += length;
                    continue;
                }
                ByteBuffer next = take(window.removeFirst());
                out.write(next.array(), 0, next.limit());
                progress.advance(next.limit());
            }
        } finally {
            window.forEach(f -> f.cancel(true));
        }
        out.flush();
        return new Copy.Summary(size, size, 0, progress.seconds());
    }

    /** Reads {@code in} to its end onto {@code destination}; all-zero chunks are zeroed (or skipped if fresh). */
    public static Copy.Summary fromStream(InputStream in, BlockDevice destination, boolean fresh, Progress progress)
            throws IOException {
        byte[] chunk = new byte[Copy.CHUNK];
        long at = 0;
        long data = 0;
        int n;
        while ((n = in.readNBytes(chunk, 0, chunk.length)) > 0) {
            if (at + n > destination.size()) {
                throw new IOException("the input is larger than " + destination + " (" + destination.size() + " bytes)");
            }
            ByteBuffer buffer = ByteBuffer.wrap(chunk, 0, n);
            if (!ZeroDetector.isZero(buffer, 0, n)) {
                destination.write(at, buffer, false);
                data += n;
            } else if (!fresh) {
                destination.zero(at, n, ZeroFlags.PUNCH);
            }
            at += n;
            progress.advance(n);
        }
        destination.flush();
        return new Copy.Summary(at, data, at - data, progress.seconds());
    }

    /** Reads {@code in} to its end into a new sparse file: zero chunks are left as holes. */
    public static Copy.Summary fromStreamToFile(InputStream in, Path file, Progress progress) throws IOException {
        byte[] chunk = new byte[Copy.CHUNK];
        long at = 0;
        long data = 0;
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw"); FileChannel channel = raf.getChannel()) {
            int n;
            while ((n = in.readNBytes(chunk, 0, chunk.length)) > 0) {
                ByteBuffer buffer = ByteBuffer.wrap(chunk, 0, n);
                if (!ZeroDetector.isZero(buffer, 0, n)) {
                    while (buffer.hasRemaining()) {
                        channel.write(buffer, at + buffer.position());
                    }
                    data += n;
                }
                at += n;
                progress.advance(n);
            }
            raf.setLength(at);
            channel.force(true);
        }
        return new Copy.Summary(at, data, at - data, progress.seconds());
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
