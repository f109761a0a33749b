package dev.sprout.tool;

import dev.sprout.backend.FileBlockDevice;
import dev.sprout.block.AsynchronousReads;
import dev.sprout.block.AsynchronousWrites;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.Completion;
import dev.sprout.block.PageAlignedBuffer;
import dev.sprout.block.TransferredWrites;
import dev.sprout.block.ZeroFlags;
import dev.sprout.client.SplicedChunk;
import dev.sprout.client.SplicedTransfers;
import dev.sprout.os.KernelPipe;
import dev.sprout.os.NativeException;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Copies one device onto another of the same size, data only: the source's extents say where its
 * holes and zeroes are, those ranges are skipped (on a fresh destination) or zeroed; data is
 * copied in chunks, up to {@code requests} at a time (see {@link #workers}), and a 64 KiB step found
 * to be all zeroes is treated like a hole. A chunk is read into memory, or, from a raw file into an
 * NBD export over a Unix socket, only probed there and sent from the file ({@link ChunkData}), or,
 * between two NBD exports over Unix sockets, passed through a kernel pipe ({@link SplicedChunk}). Every
 * request is aligned to both ends' minimum block size. With {@code flush} it ends with a flush of
 * the destination.
 */
public final class Copy {

    /** A unit of sequential I/O for the other tools (compare, stream copies, sparsify). */
    static final int CHUNK = 1 << 20;
    /**
     * Bytes read per request of a copy. Measured on 2 cores copying a 4 GiB image (half data) out of
     * nbdkit into a new file, alternating with nbdcopy (256 KiB requests): 1 MiB requests took 0.85
     * of the time of 256 KiB ones, with fewer system calls here and less work for the server. (Before
     * the destination was written behind, 1 MiB pwrite(2)s cost 3-4x the kernel time: they dirtied
     * fresh page-cache pages.) A request still reaches an NBD server split at its maximum block size.
     */
    static final int REQUEST_SIZE = 1 << 20;
    /**
     * Bytes per request out of a raw file into an export that takes no transfers (TCP), where the
     * thread that reads a chunk into its buffer goes on to send it: the buffer is written by
     * pread(2), scanned for zeroes and read by send(2), and at 512 KiB it is still in the core's
     * cache for the second and third. Copying 2 GiB of data (a 4 GiB image) into nbdkit memory over
     * TCP on 2 cores, alternating, 16 runs: 1.02 s against 1.08 s at 1 MiB, the client's CPU 1.07 s
     * against 1.17 s; 4 GiB of data, 1.44 s against 1.60 s. In perf, the kernel's copies out of the
     * page cache and into the socket took half the samples they took at 1 MiB. At 256 KiB the
     * requests cost more than the cache saves (1.90 s for the 4 GiB), and the server's CPU rose.
     */
    static final int FILE_TO_EXPORT_REQUEST_SIZE = 512 * 1024;
    /** Zero runs inside data are found in blocks of this size (a multiple of any alignment). */
    private static final int ZERO_STEP = 64 * 1024;
    /** {@code --requests auto}: each way of copying keeps its own number in flight (see {@link #workers}). */
    public static final int AUTO_REQUESTS = 0;
    /**
     * Reads in flight out of an NBD export unless told otherwise. Out of nbdkit into tmpfs on 2
     * cores, 8 or 16 were slower than 64 (eighth session).
     */
    static final int READS_IN_FLIGHT = 64;
    /**
     * Chunks written at once into an NBD export unless told otherwise, each by a thread that waits
     * for its reply. Copying 4 GiB of data from a file into an nbdkit memory export on 2 cores, 64
     * took 2.5-2.6 s of CPU time and 2.3-2.4 s, 16 took 1.9-2.1 s and 1.9-2.0 s, 8 took 1.7-2.0 s and
     * 1.7-2.1 s (nbdcopy 1.9 s and 1.9 s): each one's 1 MiB buffer is memory the copy cycles through,
     * and 64 of them fault in twice the pages. Over TCP and into sprout's own server, 8 was as fast
     * as 64 or faster. 8 MiB in flight still keeps a link of 1 GB/s busy at 8 ms round trips.
     */
    static final int WRITES_IN_FLIGHT = 8;

    /**
     * @param requests         chunks in flight at most, or {@link #AUTO_REQUESTS}
     * @param freshDestination the destination is new and reads as zeroes: holes need no writing
     * @param flush            flush the destination at the end (for a file: fdatasync(2), which
     *                         waits for every byte to reach the disk; qemu-img convert and nbdcopy
     *                         without --flush do not)
     */
    public record Options(int requests, boolean freshDestination, boolean flush) {
        public Options {
            if (requests < 1 && requests != AUTO_REQUESTS) {
                throw new IllegalArgumentException("--requests must be auto or at least 1");
            }
        }

        /** Without a final flush. */
        public Options(int requests, boolean freshDestination) {
            this(requests, freshDestination, false);
        }

        /** {@link #requests}, or {@code automatic} when that is {@link #AUTO_REQUESTS}. */
        int requestsOr(int automatic) {
            return requests == AUTO_REQUESTS ? automatic : requests;
        }
    }

    /** What was copied: bytes written as data, bytes left as holes or zeroed, time taken. */
    public record Summary(long size, long dataBytes, long zeroBytes, double seconds) {
        /** The summary for {@code --json}, its keys in the style of {@code info --json}. */
        public Map<String, Object> facts() {
            Map<String, Object> facts = new LinkedHashMap<>();
            facts.put("size", size);
            facts.put("data_bytes", dataBytes);
            facts.put("zero_bytes", zeroBytes);
            facts.put("seconds", Math.round(seconds * 1000) / 1000.0);
            facts.put("bytes_per_second", bytesPerSecond());
            return facts;
        }

        public String line() {
            return "copied " + Progress.human(size) + " (" + size + " bytes): " + Progress.human(dataBytes) + " data, "
                    + Progress.human(zeroBytes) + " holes or zeroes, in " + Progress.decimal(seconds, 2) + " s ("
                    + Progress.human(bytesPerSecond()) + "/s)";
        }

        /** The rate over the whole size, holes included; a copy under a millisecond counts as one. */
        private long bytesPerSecond() {
            return (long) (size / Math.max(seconds, 1e-3));
        }
    }

    private final BlockDevice source;
    private final BlockDevice destination;
    private final Options options;
    private final Progress progress;
    private final AtomicLong dataBytes = new AtomicLong();
    private final AtomicReference<IOException> failure = new AtomicReference<>();
    /** Bytes per chunk, and per buffer: see {@link #chunkSize(BlockDevice, int)}. */
    private final int chunkSize;

    private Copy(BlockDevice source, BlockDevice destination, Options options, Progress progress) {
        this.source = source;
        this.destination = destination;
        this.options = options;
        this.progress = progress;
        this.chunkSize = chunkSize(source, readsFileIntoExport() ? FILE_TO_EXPORT_REQUEST_SIZE : REQUEST_SIZE);
    }

    /** Copies {@code source} onto {@code destination}, which must be at least as large. */
    public static Summary run(BlockDevice source, BlockDevice destination, Options options, Progress progress)
            throws IOException {
        if (destination.size() < source.size()) {
            throw new IllegalArgumentException("destination " + destination + " (" + destination.size()
                    + " bytes) is smaller than source " + source + " (" + source.size() + " bytes)");
        }
        return new Copy(source, destination, options, progress).run();
    }

    private Summary run() throws IOException {
        CopyChunks chunks = new CopyChunks(source, alignment(), chunkSize);
        if (source instanceof AsynchronousReads reads && destination instanceof AsynchronousWrites writes) {
            copyWhereReadsFinish(reads, chunks, writes, options.requestsOr(READS_IN_FLIGHT));
        } else if (source instanceof AsynchronousReads reads && !destination.latencyBound()) {
            copyWhereReadsFinish(reads, chunks, null, options.requestsOr(READS_IN_FLIGHT));
        } else if (readsFileIntoExport()) {
            copyWhereReadsFinish(new LocalReads(source), chunks, (AsynchronousWrites) destination,
                    options.requestsOr(WRITES_IN_FLIGHT));
        } else {
            copyOnThreads(chunks);
        }
        if (failure.get() != null) {
            throw failure.get();
        }
        if (options.flush()) {
            destination.flush();
        }
        long size = source.size();
        return new Summary(size, dataBytes.get(), size - dataBytes.get(), progress.seconds());
    }

    /**
     * {@link #workers} threads, each copying the next chunk until there is none: virtual threads,
     * but platform threads into a latency-bound destination (an NBD export). A virtual thread whose
     * write to a socket must wait for room parks on the JDK's poller, whose platform thread then
     * sits in epoll_wait(2) until the JVM ends; and the JVM's exit waits up to 0.3 s for threads in
     * a native call to return (VM_Exit::wait_for_threads_in_native_to_block). A platform thread
     * waits in write(2) instead, and is woken by the kernel. Copying 2 GiB of data from a file
     * into an nbdkit memory export on 2 cores took 1.47 s with virtual threads (1.01 s of it
     * copying), 1.08 s with platform threads (0.94 s); nbdcopy 0.83 s.
     */
    private void copyOnThreads(CopyChunks chunks) {
        try (ExecutorService threads = destination.latencyBound()
                ? Executors.newThreadPerTaskExecutor(Thread.ofPlatform().daemon().name("copy-", 0).factory())
                : Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0, n = workers(); i < n; i++) {
                threads.submit(() -> {
                    ByteBuffer buffer = null; // made for the first chunk: a small copy needs few
                    try {
                        for (CopyChunks.Piece piece; failure.get() == null && (piece = chunks.next()) != null; ) {
                            switch (piece) {
                                case CopyChunks.Zeroes zeroes -> zero(zeroes.offset(), zeroes.length());
                                case CopyChunks.Chunk chunk -> {
                                    if (buffer == null) {
                                        buffer = PageAlignedBuffer.allocate(chunkSize);
                                    }
                                    writeChunk(chunk.length(), chunkData(chunk, buffer));
                                }
                                case CopyChunks.ExtentsNeeded ignored -> {
                                    // only nextWithoutWaiting() gives it; next() waits for the extents
                                }
                            }
                        }
                    } catch (IOException | RuntimeException e) {
                        fail(e);
                    }
                });
            }
        }
    }

    /**
     * For a source whose reads finish on a thread of its own (an NBD connection's reader), or a
     * raw file read by whichever thread goes on to the next chunk ({@link LocalReads}): {@code
     * count} chains, each with one request in flight at a time, and no thread waiting for any of
     * them.
     * <ul>
     * <li>Into a destination that is not remote ({@code writes} null), each chunk is written by the
     *     thread its bytes arrived on, which then sends the read of the next chunk (as nbdcopy's
     *     workers do), and no chunk changes threads: copying 2 GiB out of nbdkit made 13,600 futex
     *     calls through virtual threads.</li>
     * <li>Into one whose writes finish on a thread of its own (another NBD export), the read's
     *     completion starts the chunk's writes, and the last write's completion the next read.
     *     Copying 2 GiB of data between two nbdkit exports on 2 cores took 1.25 s with 8 threads
     *     each waiting for a read and then its write, 1.09 s this way (nbdcopy 1.08 s).</li>
     * <li>Where both exports' sockets can be spliced ({@link SplicedTransfers}: Unix sockets), each
     *     chain's chunk passes through a pipe of its own and its data never enters the JVM: the
     *     client's kernel time for those 2 GiB fell from 0.64-0.79 s to 0.48-0.55 s, its user time
     *     rose by ~0.05 s (a peek and a splice per 64 KiB where one read took a MiB), and the
     *     copy took 1.20 s against 1.25 s (nbdcopy 1.13 s). Splicing into a file as well (pipe to
     *     page cache) was tried and dropped: the same kernel time as receiving and writing, 1.5 s
     *     either way.</li>
     * <li>Out of a raw file into an export over TCP (where the data is not sent by sendfile),
     *     the connection's reader, done with a chunk's writes, reads the chain's next chunk from
     *     the file and sends its writes, as nbdcopy's workers do; before, 8 threads each read a
     *     chunk, wrote it and waited for the reply. 2 GiB of data into nbdkit memory on 2 cores:
     *     1.03 s against 1.11 s, the client's CPU time 1.15 s against 1.33 s (nbdcopy 0.98 s and
     *     0.89 s). Its chunks are of {@link #FILE_TO_EXPORT_REQUEST_SIZE}, which the core's cache holds.</li>
     * </ul>
     * A chain whose next piece needs an NBD source's extents asks for them on a virtual thread: the
     * reader cannot wait for its own reply. A file's extents are asked for where the chain is.
     */
    private void copyWhereReadsFinish(AsynchronousReads reads, CopyChunks chunks, AsynchronousWrites writes, int count) {
        CountDownLatch finished = new CountDownLatch(count);
        boolean splicing = writes != null && source instanceof SplicedTransfers from && from.canSplice()
                && destination instanceof SplicedTransfers to && to.canSplice();
        List<Chain> chains = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            chains.add(new Chain(reads, writes, splicing, chunks, finished));
        }
        chains.forEach(chain -> chain.next(true));
        try {
            finished.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure.compareAndSet(null, new InterruptedIOException("copy interrupted"));
        } finally {
            chains.forEach(Chain::close);
        }
    }

    /**
     * One request slot of {@link #copyWhereReadsFinish}: read a chunk, write it, read the next;
     * zero ranges are zeroed (or skipped on a fresh destination) in turn.
     */
    private final class Chain implements Completion {
        private final AsynchronousReads reads;
        /** Where writes finish on a thread of their own; null to write each chunk where it arrives. */
        private final AsynchronousWrites writes;
        /** Whether chunks may pass through a kernel pipe (see {@link #spliced}). */
        private final boolean splicing;
        private final CopyChunks chunks;
        private final CountDownLatch finished;
        /** Made for the first chunk (a small copy needs few); null while {@link #spliced} is used. */
        private ByteBuffer buffer;
        /**
         * Between two exports whose sockets can be spliced, each chunk's data passes through a pipe
         * of its own instead of {@link #buffer} ({@link SplicedChunk}, which makes memory only when
         * a chunk needs it); null otherwise, and where the kernel refused the pipe.
         */
        private SplicedChunk spliced;
        private CopyChunks.Chunk chunk;

        Chain(AsynchronousReads reads, AsynchronousWrites writes, boolean splicing, CopyChunks chunks,
              CountDownLatch finished) {
            this.reads = reads;
            this.writes = writes;
            this.splicing = splicing;
            this.chunks = chunks;
            this.finished = finished;
        }

        /**
         * Starts the next piece's request, or ends the chain when there is none or the copy
         * failed; {@code mayWait} says whether this thread may wait for the source's extents.
         */
        void next(boolean mayWait) {
            while (true) {
                CopyChunks.Piece piece;
                try {
                    piece = failure.get() != null ? null : mayWait ? chunks.next() : chunks.nextWithoutWaiting();
                } catch (IOException | RuntimeException e) {
                    fail(e);
                    piece = null;
                }
                switch (piece) {
                    case null -> finished.countDown();
                    case CopyChunks.ExtentsNeeded ignored when reads instanceof LocalReads -> {
                        mayWait = true; // a file's extents come from lseek(2), not from a reply this thread reads
                        continue;
                    }
                    case CopyChunks.ExtentsNeeded ignored -> Thread.startVirtualThread(() -> next(true));
                    case CopyChunks.Zeroes zeroes when writes != null && !options.freshDestination() -> {
                        Completion then = credited(zeroes.length(), 0, thenNext(1));
                        writes.zeroLater(zeroes.offset(), zeroes.length(), then);
                    }
                    case CopyChunks.Zeroes zeroes -> {
                        try {
                            zero(zeroes.offset(), zeroes.length());
                        } catch (IOException | RuntimeException e) {
                            fail(e);
                        }
                        continue; // the next piece, on this thread
                    }
                    case CopyChunks.Chunk next -> {
                        chunk = next;
                        if (buffer == null && spliced == null) {
                            spliced = splicing ? splicedChunk() : null;
                            buffer = spliced == null ? PageAlignedBuffer.allocate(chunkSize) : null;
                        }
                        if (spliced == null) {
                            reads.readLater(next.offset(), buffer.clear().limit(next.length()), this);
                        } else {
                            try {
                                spliced.reset(next.offset(), next.length());
                            } catch (IOException | RuntimeException e) {
                                fail(e);
                                continue; // the chain ends
                            }
                            ((SplicedTransfers) source).readSpliced(spliced, this);
                        }
                    }
                }
                return;
            }
        }

        /** A chunk passing through a pipe of its own, or null when the kernel refuses one (it counts pipe pages per user). */
        private SplicedChunk splicedChunk() {
            try {
                return new SplicedChunk(KernelPipe.open(chunkSize), chunkSize);
            } catch (NativeException e) {
                return null;
            }
        }

        void close() {
            if (spliced != null) {
                spliced.close();
            }
        }

        /** The chunk's read is done: write it here, or start its writes. */
        @Override
        public void done(IOException readFailure) {
            try {
                if (readFailure != null) {
                    throw readFailure;
                }
                if (spliced != null && !spliced.inMemory()) {
                    writeSpliced(spliced.runs());
                    return;
                }
                ByteBuffer bytes = spliced != null ? spliced.memory() : buffer.clear().limit(chunk.length());
                ChunkData data = new ChunkData.InMemory(destination, chunk.offset(), bytes);
                if (writes != null) {
                    writeLater(runs(chunk.length(), data), bytes);
                    return;
                }
                writeChunk(chunk.length(), data);
            } catch (IOException | RuntimeException e) {
                fail(e);
            }
            next(false);
        }

        /**
         * Starts the writes of a spliced chunk's runs, the data runs' bytes taken from its pipe in
         * order; the last one to finish goes on to the next piece. Should the pipe not hold what
         * the data runs still need (a write that failed before it took its bytes), nothing more
         * is sent: what followed would go to the wrong place.
         */
        private void writeSpliced(List<SplicedChunk.Run> runs) throws IOException {
            long offset = chunk.offset();
            Completion each = thenNext(runs.size());
            int dataLeft = spliced.dataBytes();
            for (int i = 0; i < runs.size(); i++) {
                SplicedChunk.Run run = runs.get(i);
                int length = run.length();
                if (!run.zero()) {
                    int held = spliced.pipe().available();
                    if (held != dataLeft) {
                        IOException outOfStep = new IOException(spliced.pipe() + " holds " + held + " bytes where "
                                + dataLeft + " were still to be written, at " + (offset + run.from()));
                        for (int j = i; j < runs.size(); j++) {
                            each.done(outOfStep);
                        }
                        return;
                    }
                    dataLeft -= length;
                    ((SplicedTransfers) destination).writeSpliced(offset + run.from(), length, spliced.pipe(),
                            credited(length, length, each));
                } else {
                    zeroRunLater(offset + run.from(), length, each);
                }
            }
        }

        /** Starts the writes of the chunk's runs; the last one to finish goes on to the next piece. */
        private void writeLater(List<Run> runs, ByteBuffer bytes) {
            long offset = chunk.offset();
            Completion each = thenNext(runs.size());
            for (Run run : runs) {
                int length = run.to() - run.from();
                if (!run.zero()) {
                    ByteBuffer piece = bytes.slice(run.from(), length);
                    writes.writeLater(offset + run.from(), piece, credited(length, length, each));
                } else {
                    zeroRunLater(offset + run.from(), length, each);
                }
            }
        }

        /** A chunk's zero run: zeroed, or on a fresh destination only counted; then {@code each}. */
        private void zeroRunLater(long at, int length, Completion each) {
            if (options.freshDestination()) {
                progress.advance(length);
                each.done(null);
            } else {
                writes.zeroLater(at, length, credited(length, 0, each));
            }
        }

        /** A completion for {@code requests} requests: once the last is done, on to the next piece. */
        private Completion thenNext(int requests) {
            AtomicInteger left = new AtomicInteger(requests);
            return failed -> {
                if (failed != null) {
                    fail(failed);
                }
                if (left.decrementAndGet() == 0) {
                    next(false);
                }
            };
        }
    }

    /** {@code then}, after counting {@code length} bytes done ({@code data} of them data) when there was no failure. */
    private Completion credited(long length, long data, Completion then) {
        return failed -> {
            if (failed == null) {
                dataBytes.addAndGet(data);
                progress.advance(length);
            }
            then.done(failed);
        };
    }

    /**
     * How many chunks {@link #copyOnThreads} copies at once. Into a {@linkplain
     * BlockDevice#latencyBound latency-bound} destination (an NBD export), whose replies are waited
     * for: {@code requests}, by default {@link #WRITES_IN_FLIGHT}; out of a latency-bound source
     * into a local one: {@code requests}, by default {@link #READS_IN_FLIGHT}. Between local
     * devices: one per core, at least two so that one chunk is read while another is written, and
     * never more than {@code requests}. There every read and write is a copy through the page
     * cache, which only the cores do, and the writes to the destination file go one at a time.
     * Copying 2 GiB of data from ext4 into tmpfs on 2 cores with 64 chunks at once took 1.16-1.28 s,
     * nbdcopy 0.88-0.99 s, and 2 chunks at once 1.0 s.
     */
    private int workers() {
        if (destination.latencyBound()) {
            return options.requestsOr(WRITES_IN_FLIGHT);
        }
        if (source.latencyBound()) {
            return options.requestsOr(READS_IN_FLIGHT);
        }
        int perCore = Math.max(2, Runtime.getRuntime().availableProcessors());
        return Math.min(options.requestsOr(perCore), perCore);
    }

    /** Records the copy's first failure; the workers stop at their next chunk. */
    private void fail(Exception e) {
        failure.compareAndSet(null, e instanceof IOException io ? io : new IOException("copy failed: " + e, e));
    }

    /**
     * The chunk as {@link #writeChunk} sees it: left in the source file when the destination takes
     * data straight from there at less cost ({@link TransferredWrites}: an NBD export over a Unix
     * socket), else read whole into {@code buffer}.
     */
    private ChunkData chunkData(CopyChunks.Chunk chunk, ByteBuffer buffer) throws IOException {
        if (source instanceof FileBlockDevice file && destination instanceof TransferredWrites sink
                && sink.prefersTransfers()) {
            return new ChunkData.InFile(file, sink, chunk.offset(), buffer);
        }
        ByteBuffer bytes = buffer.clear().limit(chunk.length());
        source.read(chunk.offset(), bytes.duplicate());
        return new ChunkData.InMemory(destination, chunk.offset(), bytes);
    }

    /** Bytes {@code from} to {@code to} of a chunk: all zeroes, or data. */
    private record Run(int from, int to, boolean zero) {
    }

    /**
     * The chunk's runs of data and of zeroes, told apart at 64 KiB granularity, so a chunk with a
     * little data still leaves the rest a hole.
     */
    private static List<Run> runs(int length, ChunkData data) throws IOException {
        List<Run> runs = new ArrayList<>(2);
        int step = ZERO_STEP;
        int at = 0;
        boolean zero = data.isZero(0, Math.min(length, step));
        while (at < length) {
            int runEnd = Math.min(length, at + step);
            boolean next = zero;
            while (runEnd < length) {
                next = data.isZero(runEnd, Math.min(length, runEnd + step));
                if (next != zero) {
                    break;
                }
                runEnd = Math.min(length, runEnd + step);
            }
            runs.add(new Run(at, runEnd, zero));
            at = runEnd;
            zero = next;
        }
        return runs;
    }

    /** Writes a chunk, data only: its zero runs are zeroed, or skipped on a fresh destination. */
    private void writeChunk(int length, ChunkData data) throws IOException {
        long offset = data.offset();
        for (Run run : runs(length, data)) {
            if (run.zero()) {
                zero(offset + run.from(), run.to() - run.from());
            } else {
                data.write(run.from(), run.to());
                dataBytes.addAndGet(run.to() - run.from());
                progress.advance(run.to() - run.from());
            }
        }
    }

    private void zero(long offset, long length) throws IOException {
        if (!options.freshDestination()) {
            destination.zero(offset, length, ZeroFlags.PUNCH);
        }
        progress.advance(length);
    }

    /**
     * Whether a raw file is read by the thread that goes on to send its chunks' writes, into an
     * export whose writes finish on a thread of their own and that takes no transfers from files
     * (over TCP; see {@link #copyWhereReadsFinish}).
     */
    private boolean readsFileIntoExport() {
        return source instanceof FileBlockDevice && destination instanceof AsynchronousWrites
                && !(destination instanceof TransferredWrites transfers && transfers.prefersTransfers());
    }

    /**
     * {@code size}, or less where the source takes smaller requests: one chunk is one
     * request, so that each read chain of {@link #copyWhereReadsFinish} holds at most one of the
     * connection's requests in flight, and a reader thread sending the next read never waits for
     * a free one (which only it could free).
     */
    private static int chunkSize(BlockDevice source, int size) {
        return Integer.highestOneBit(Math.min(size, source.capabilities().blockSizes().maximum()));
    }

    /**
     * The block size every request must be a multiple of: the larger of the two ends' minimum
     * block sizes (proto.md: "Block size constraints"; a power of two, at most 64 KiB).
     */
    private long alignment() {
        long align = Math.max(source.capabilities().blockSizes().minimum(),
                destination.capabilities().blockSizes().minimum());
        if (Long.bitCount(align) != 1 || align > ZERO_STEP) {
            throw new IllegalArgumentException("cannot copy in blocks of " + align + " bytes (" + source + " to "
                    + destination + "): a power of two up to 64 KiB is needed");
        }
        return align;
    }
}
