package dev.sprout.layer;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.block.ZeroFlags;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A layer that sleeps before passing each request down, per operation: a slow disk or a distant
 * server. Requests run on virtual threads, so a sleeping request holds no carrier thread and
 * delays no other request.
 */
public final class DelayingDevice extends ForwardingBlockDevice {

    /** The delay before each operation, in nanoseconds; absent: none. */
    private final Map<Operation, Long> delays;

    DelayingDevice(BlockDevice in, Map<Operation, Long> delays) {
        super(in);
        this.delays = new EnumMap<>(Operation.class);
        this.delays.putAll(delays);
    }

    /** {@code all=MS} and {@code read=MS}, {@code write=MS}... one per operation, which win over all. */
    static BlockDevice create(BlockDevice in, LayerParameters p) {
        String[] keys = new String[Operation.values().length + 1];
        keys[0] = "all";
        for (Operation op : Operation.values()) {
            keys[op.ordinal() + 1] = op.label();
        }
        p.accept(keys);
        Optional<Long> all = p.nanos("all");
        Map<Operation, Long> delays = new EnumMap<>(Operation.class);
        for (Operation op : Operation.values()) {
            p.nanos(op.label()).or(() -> all).ifPresent(nanos -> delays.put(op, nanos));
        }
        return new DelayingDevice(in, delays);
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        pause(Operation.READ);
        in.read(offset, dst);
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        pause(Operation.WRITE);
        in.write(offset, src, fua);
    }

    @Override
    public void flush() throws IOException {
        pause(Operation.FLUSH);
        in.flush();
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        pause(Operation.TRIM);
        in.trim(offset, length, fua);
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws IOException {
        pause(Operation.ZERO);
        in.zero(offset, length, flags);
    }

    @Override
    public void cache(long offset, long length) throws IOException {
        pause(Operation.CACHE);
        in.cache(offset, length);
    }

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        pause(Operation.EXTENTS);
        return in.extents(offset, length);
    }

    /** Sleeps: requests must run concurrently so that delays overlap as they would on a slow disk. */
    @Override
    public boolean nonBlocking() {
        return false;
    }

    /** Its requests wait for their delays, which overlap only when many are in flight. */
    @Override
    public boolean latencyBound() {
        return true;
    }

    private void pause(Operation op) throws InterruptedIOException {
        Long nanos = delays.get(op);
        if (nanos == null || nanos == 0) {
            return;
        }
        long deadline = System.nanoTime() + nanos;
        try {
            // Timers may wake a little early; a delay is a promised minimum.
            for (long left = nanos; left > 0; left = deadline - System.nanoTime()) {
                Thread.sleep(Duration.ofNanos(left));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("delay layer: interrupted during the " + op.label() + " delay");
        }
    }
}
