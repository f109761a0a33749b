package dev.sprout.client;

import dev.sprout.block.AsynchronousReads;
import dev.sprout.block.AsynchronousWrites;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.Capabilities;
import dev.sprout.block.Closing;
import dev.sprout.block.Completion;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.Extent;
import dev.sprout.block.TransferredWrites;
import dev.sprout.block.ZeroFlags;
import dev.sprout.nbd.TransmissionFlag;
import dev.sprout.os.KernelPipe;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * One NBD export over several connections, each request sent on the next one in turn. Only for
 * servers that advertise CAN_MULTI_CONN (proto.md: "a flush on one connection covers writes
 * completed on any connection", so several clients see one consistent export); a flush is still
 * sent on every connection, as nbdcopy does.
 */
public final class MultiConnectionDevice
        implements BlockDevice, AsynchronousReads, AsynchronousWrites, TransferredWrites, SplicedTransfers {

    private final List<NbdBlockDevice> connections;
    private final AtomicInteger next = new AtomicInteger();

    private MultiConnectionDevice(List<NbdBlockDevice> connections) {
        this.connections = List.copyOf(connections);
    }

    /**
     * A connection count meaning "decide": {@link #autoCount()} connections when the server
     * advertises multi-conn, one (without a note) when it does not.
     */
    public static final int AUTO = 0;

    /**
     * The connections {@link #AUTO} opens to a multi-conn server: one per core, at least 2 and at
     * most 4, as nbdcopy (up to 4, one per thread). Measured on 2 cores copying a 4 GiB half-data
     * image out of nbdkit and sprout into a file: 2 connections took 0.9x the time of 1, and 4
     * were no faster than 2.
     */
    public static int autoCount() {
        return Math.clamp(Runtime.getRuntime().availableProcessors(), 2, 4);
    }

    /**
     * Opens {@code uri} over {@code count} connections (or {@link #AUTO}) when its server allows
     * several; otherwise over one, telling {@code notes} why when more were asked for.
     */
    public static BlockDevice connect(String uri, int count, Consumer<String> notes) throws IOException {
        NbdBlockDevice first = NbdBlockDevice.connect(uri);
        if (count == 1) {
            return first;
        }
        if (!first.info().has(TransmissionFlag.CAN_MULTI_CONN)) {
            if (count != AUTO) {
                notes.accept(uri + " does not advertise multi-conn: using 1 connection, not " + count);
            }
            return first;
        }
        if (count == AUTO) {
            count = autoCount();
        }
        List<NbdBlockDevice> all = new ArrayList<>(List.of(first));
        try {
            while (all.size() < count) {
                NbdBlockDevice another = NbdBlockDevice.connect(uri);
                all.add(another);
                if (another.size() != first.size() || another.info().flags() != first.info().flags()) {
                    throw new DeviceException(Errno.EIO, uri + ": connection " + all.size()
                            + " saw another export (size or flags differ from the first connection's)");
                }
            }
        } catch (IOException | RuntimeException e) {
            Closing.allAfter(e, all);
            throw e;
        }
        return new MultiConnectionDevice(all);
    }

    /** How many connections requests are spread over. */
    public int connectionCount() {
        return connections.size();
    }

    private NbdBlockDevice pick() {
        return connections.get(Math.floorMod(next.getAndIncrement(), connections.size()));
    }

    @Override
    public long size() {
        return connections.getFirst().size();
    }

    /** Every request waits for a server's reply. */
    @Override
    public boolean latencyBound() {
        return true;
    }

    @Override
    public Capabilities capabilities() {
        return connections.getFirst().capabilities();
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        pick().read(offset, dst);
    }

    @Override
    public void readLater(long offset, ByteBuffer dst, Completion then) {
        pick().readLater(offset, dst, then);
    }

    @Override
    public void writeLater(long offset, ByteBuffer src, Completion then) {
        pick().writeLater(offset, src, then);
    }

    @Override
    public void zeroLater(long offset, long length, Completion then) {
        pick().zeroLater(offset, length, then);
    }

    @Override
    public boolean canSplice() {
        for (NbdBlockDevice connection : connections) {
            if (!connection.canSplice()) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void readSpliced(SplicedChunk chunk, Completion then) {
        pick().readSpliced(chunk, then);
    }

    @Override
    public void writeSpliced(long offset, int length, KernelPipe pipe, Completion then) {
        pick().writeSpliced(offset, length, pipe, then);
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        pick().write(offset, src, fua);
    }

    @Override
    public boolean prefersTransfers() {
        return connections.getFirst().prefersTransfers();
    }

    @Override
    public void writeFrom(long offset, long length, Source source, boolean fua) throws IOException {
        pick().writeFrom(offset, length, source, fua);
    }

    @Override
    public void flush() throws IOException {
        for (NbdBlockDevice connection : connections) {
            connection.flush();
        }
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        pick().trim(offset, length, fua);
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws IOException {
        pick().zero(offset, length, flags);
    }

    @Override
    public void cache(long offset, long length) throws IOException {
        pick().cache(offset, length);
    }

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        return pick().extents(offset, length);
    }

    @Override
    public void close() throws IOException {
        Closing.all(connections);
    }

    @Override
    public String toString() {
        return connections.getFirst() + "x" + connections.size();
    }
}
