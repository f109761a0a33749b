package dev.sprout.client;

import dev.sprout.block.PageAlignedBuffer;
import dev.sprout.block.ZeroDetector;
import dev.sprout.os.KernelPipe;
import dev.sprout.os.SocketDescriptor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A chunk of a copy between two NBD exports whose data bytes pass through a {@link KernelPipe}
 * and never through the JVM: a spliced READ ({@link SplicedTransfers#readSpliced}) fills it, and
 * spliced WRITEs of its data runs, in order, empty it again.
 *
 * <p>As the reply arrives, each 64 KiB step of it is told apart as data or zeroes, as a copy
 * through memory does: the first bytes of the step are peeked at in the socket, and a step with a
 * non-zero byte among them is spliced into the pipe as data. Only a step whose first bytes are
 * zeroes is read into {@link #memory} and checked whole: a zero run when it is all zeroes, else
 * written into the pipe from there. A hole the server sends as one (OFFSET_HOLE) is zeroes too.
 * Only whole steps become zero runs; zeroes in part of a step go into the pipe as data, so that
 * runs start and end where a copy through memory would cut them, on boundaries any block size
 * allows. So the pipe holds the chunk's data runs one after another.
 *
 * <p>When that cannot be kept up, the chunk falls back to memory: a reply whose pieces come out of
 * order (structured replies may), or a pipe that fills before the chunk is in (many small pieces
 * each take one of its page references). What the pipe holds is then read back into place, the
 * rest of the reply is read into memory, and the chunk is written from there.
 */
public final class SplicedChunk implements AutoCloseable {

    /** The granularity of zero runs, as in a copy through memory. */
    static final int STEP = 64 * 1024;
    /** Bytes peeked at to rule a step out as zeroes. */
    static final int PROBE = 4096;

    /** A run of the chunk, bytes {@code from} to {@code to}: all zeroes, or data. */
    public record Run(int from, int to, boolean zero) {
        public int length() {
            return to - from;
        }
    }

    private final KernelPipe pipe;
    /** The largest chunk, and so the size of {@link #memory}. */
    private final int capacity;
    /**
     * Direct, as large as a chunk: zero checks, and the whole chunk after a fallback; made when
     * first needed ({@link #memory(int)}), since a chunk of data passes through the pipe alone. A
     * copy between exports keeps 64 chunks in flight, and making their 64 MiB up front (zeroed by
     * {@link ByteBuffer#allocateDirect}) cost its start ~40 ms of one core's time.
     */
    private ByteBuffer memory;
    private final MemorySegment probe = Arena.ofAuto().allocate(PROBE);
    private final List<Run> runs = new ArrayList<>();
    private long offset;
    private int length;
    /** Bytes of the chunk that arrived, in order while in the pipe. */
    private int received;
    private boolean inMemory;

    /**
     * A chunk of up to {@code capacity} bytes. A pipe that cannot hold that much makes larger
     * chunks fall back to memory.
     */
    public SplicedChunk(KernelPipe pipe, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("a chunk of " + capacity + " bytes");
        }
        this.pipe = pipe;
        this.capacity = capacity;
    }

    /** Makes it ready for the {@code length} bytes at {@code offset}; the pipe must be empty. */
    public void reset(long offset, int length) throws IOException {
        if (length > capacity) {
            throw new IllegalArgumentException(length + " bytes do not fit a chunk of " + capacity);
        }
        int left = pipe.available();
        if (left != 0) {
            throw new IOException(pipe + " still holds " + left + " bytes of the last chunk");
        }
        this.offset = offset;
        this.length = length;
        this.received = 0;
        this.inMemory = false;
        runs.clear();
    }

    public long offset() {
        return offset;
    }

    public int length() {
        return length;
    }

    /** Whether the chunk fell back to {@link #memory()}, which then holds all of it. */
    public boolean inMemory() {
        return inMemory;
    }

    /** The chunk's bytes from index 0, once it is {@linkplain #inMemory() in memory}. */
    public ByteBuffer memory() {
        return memory(0).limit(length);
    }

    /** Whether its memory was ever needed (and so made). */
    boolean madeMemory() {
        return memory != null;
    }

    /** A view of {@link #memory} from {@code from} to its capacity, made the first time. */
    private ByteBuffer memory(int from) {
        if (memory == null) {
            memory = PageAlignedBuffer.allocate(capacity);
        }
        return memory.duplicate().clear().position(from);
    }

    /**
     * Its runs in order, while it is not in memory: the data runs' bytes are in the pipe in that
     * order. A view, valid until the next {@link #reset}.
     */
    public List<Run> runs() {
        return Collections.unmodifiableList(runs);
    }

    /** The bytes of its data runs, which the pipe holds after the read. */
    public int dataBytes() {
        int bytes = 0;
        for (Run run : runs) {
            bytes += run.zero() ? 0 : run.length();
        }
        return bytes;
    }

    public KernelPipe pipe() {
        return pipe;
    }

    /** The reply's next {@code n} bytes, for export offset {@code at}, are waiting in {@code socket} (its channel {@code wire}). */
    void receive(long at, int n, SocketWire wire, SocketDescriptor socket) throws IOException {
        int from = (int) (at - offset);
        if (!inMemory && from != received) {
            toMemory(0);
        }
        if (inMemory) {
            wire.readFully(memory(from).limit(from + n));
            return;
        }
        int end = from + n;
        while (received < end && !inMemory) {
            int stepEnd = stepEnd(end);
            if (looksLikeData(socket, stepEnd - received)) {
                spliceData(stepEnd, wire, socket);
            } else {
                readStep(stepEnd, wire);
            }
        }
        if (inMemory) {
            wire.readFully(memory(received).limit(end));
        }
    }

    /**
     * The {@code n} bytes at {@code at} read as zeroes (a structured reply's OFFSET_HOLE): whole
     * steps of them are zero runs, and the pieces of steps at either end are data made of zeroes.
     */
    void hole(long at, int n) throws IOException {
        int from = (int) (at - offset);
        if (!inMemory && from != received) {
            toMemory(0);
        }
        int end = from + n;
        while (received < end && !inMemory) {
            int stepEnd = stepEnd(end);
            if (wholeStep(stepEnd)) {
                add(received, stepEnd, true);
            } else {
                zeroMemory(received, stepEnd);
                putData(memory(received).limit(stepEnd));
            }
            received = stepEnd;
        }
        if (inMemory) {
            zeroMemory(from, end);
        }
    }

    /** Where the step that {@link #received} lies in ends, or {@code end} if sooner. */
    private int stepEnd(int end) {
        return Math.min(end, (received / STEP + 1) * STEP);
    }

    /**
     * Whether the bytes from {@link #received} to {@code stepEnd} are a whole step, or the whole
     * rest of the chunk from a step's start: only such a range may be a zero run, so that zero runs
     * (and the data runs between them) start and end where a copy through memory would cut them,
     * on boundaries that satisfy any block size.
     */
    private boolean wholeStep(int stepEnd) {
        return received % STEP == 0 && (stepEnd - received == STEP || stepEnd == length);
    }

    /** Whether the first bytes of the next {@code step} bytes in the socket hold a non-zero byte. */
    private boolean looksLikeData(SocketDescriptor socket, int step) throws IOException {
        int seen = socket.peek(probe, Math.min(PROBE, step));
        return !ZeroDetector.isZero(probe, 0, seen);
    }

    /** Splices the bytes up to {@code stepEnd} into the pipe; falls back to memory when the pipe fills. */
    private void spliceData(int stepEnd, SocketWire wire, SocketDescriptor socket) throws IOException {
        int at = received;
        while (at < stepEnd) {
            long moved = pipe.fillFrom(socket, stepEnd - at);
            if (moved == 0) {
                toMemory(at - received);
                wire.readFully(memory(at).limit(stepEnd));
                received = stepEnd;
                return;
            }
            at += (int) moved;
        }
        add(received, stepEnd, false);
        received = stepEnd;
    }

    /** Reads the bytes up to {@code stepEnd} into memory: a zero run when a whole step of zeroes, else data. */
    private void readStep(int stepEnd, SocketWire wire) throws IOException {
        ByteBuffer step = memory(received).limit(stepEnd);
        wire.readFully(step.duplicate());
        if (wholeStep(stepEnd) && ZeroDetector.isZero(memory, received, stepEnd)) {
            add(received, stepEnd, true);
            received = stepEnd;
        } else {
            putData(step);
        }
    }

    /**
     * Puts {@code bytes}, which {@link #memory} holds in place from {@link #received} on, into the
     * pipe as data, or falls back to memory when they do not fit; either way {@link #received}
     * moves past them.
     */
    private void putData(ByteBuffer bytes) throws IOException {
        int end = bytes.limit();
        int put = pipe.put(bytes.duplicate());
        if (put < end - received) {
            toMemory(put);
        } else {
            add(received, end, false);
        }
        received = end;
    }

    private void add(int from, int to, boolean zero) {
        if (!runs.isEmpty() && runs.getLast().zero() == zero && runs.getLast().to() == from) {
            runs.set(runs.size() - 1, new Run(runs.getLast().from(), to, zero));
        } else {
            runs.add(new Run(from, to, zero));
        }
    }

    /**
     * Falls back to memory: the data runs so far, and then {@code partial} bytes of the step at
     * {@link #received}, are read out of the pipe into their places, and the zero runs zeroed.
     */
    private void toMemory(int partial) throws IOException {
        for (Run run : runs) {
            if (run.zero()) {
                zeroMemory(run.from(), run.to());
            } else {
                pipe.take(memory(run.from()).limit(run.to()));
            }
        }
        pipe.take(memory(received).limit(received + partial));
        runs.clear();
        inMemory = true;
    }

    private void zeroMemory(int from, int to) {
        MemorySegment.ofBuffer(memory(from).limit(to)).fill((byte) 0);
    }

    @Override
    public void close() {
        pipe.close();
    }

    @Override
    public String toString() {
        return "spliced chunk " + offset + "+" + length;
    }

}
