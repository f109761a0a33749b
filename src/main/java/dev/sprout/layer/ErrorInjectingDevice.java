package dev.sprout.layer;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.Extent;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.block.ZeroFlags;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A layer that fails chosen operations with a chosen errno, before they reach the device below,
 * so a failed request never changes data. A request fails when its operation is selected, the
 * trigger file (if any) exists, it touches one of the ranges (if any; flush touches none), and
 * the dice say so. The dice are rolled only for requests that pass the other tests, from one
 * seeded generator, so a single-threaded client sees the same failures on every run.
 */
public final class ErrorInjectingDevice extends ForwardingBlockDevice {

    private static final System.Logger LOG = System.getLogger(ErrorInjectingDevice.class.getName());

    static final Set<Errno> ERRNOS = EnumSet.of(Errno.EIO, Errno.ENOSPC, Errno.EPERM, Errno.ENOMEM,
            Errno.EINVAL, Errno.ESHUTDOWN);

    private final double rate;
    private final Errno errno;
    private final Set<Operation> operations;
    /** Errors are injected only while this file exists; null: always. */
    private final Path trigger;
    /** Only requests touching these fail. */
    private final FaultyRanges ranges;
    /** Guarded by itself: one sequence of rolls shared by every request. */
    private final SplittableRandom random;

    ErrorInjectingDevice(BlockDevice in, double rate, Errno errno, Set<Operation> operations, Path trigger,
                         FaultyRanges ranges, long seed) {
        super(in);
        this.rate = rate;
        this.errno = errno;
        this.operations = EnumSet.copyOf(operations);
        this.trigger = trigger;
        this.ranges = ranges;
        this.random = new SplittableRandom(seed);
    }

    /** {@code rate=PERCENT,errno=NAME,ops=LIST,trigger=PATH,ranges=START-END,...,seed=N}. */
    static BlockDevice create(BlockDevice in, LayerParameters p) {
        p.accept("rate", "errno", "ops", "trigger", "ranges", "seed");
        double rate = p.percent("rate").orElse(100.0);
        long seed = p.number("seed").orElseGet(() -> System.nanoTime() & Long.MAX_VALUE);
        if (rate > 0 && rate < 100 && !p.has("seed")) {
            LOG.log(Level.INFO, "error layer: failing {0}% of requests, seed={1,number,#} replays them", rate, seed);
        }
        return new ErrorInjectingDevice(in, rate,
                p.errno("errno", ERRNOS).orElse(Errno.EIO),
                p.operations("ops").orElse(EnumSet.allOf(Operation.class)),
                p.path("trigger").orElse(null),
                p.string("ranges").map(FaultyRanges::parse).orElse(FaultyRanges.EVERYWHERE),
                seed);
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        inject(Operation.READ, offset, dst.remaining());
        in.read(offset, dst);
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        inject(Operation.WRITE, offset, src.remaining());
        in.write(offset, src, fua);
    }

    @Override
    public void flush() throws IOException {
        inject(Operation.FLUSH, 0, 0);
        in.flush();
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        inject(Operation.TRIM, offset, length);
        in.trim(offset, length, fua);
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws IOException {
        inject(Operation.ZERO, offset, length);
        in.zero(offset, length, flags);
    }

    @Override
    public void cache(long offset, long length) throws IOException {
        inject(Operation.CACHE, offset, length);
        in.cache(offset, length);
    }

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        inject(Operation.EXTENTS, offset, length);
        return in.extents(offset, length);
    }

    /** Throws the injected error if this request is to fail; the cheap tests come first. */
    private void inject(Operation op, long offset, long length) throws DeviceException {
        if (!operations.contains(op) || !ranges.touches(offset, length)
                || trigger != null && !Files.exists(trigger)
                || !roll()) {
            return;
        }
        String where = op == Operation.FLUSH ? "" : " " + offset + "+" + length;
        throw new DeviceException(errno, "injected " + errno + " (error layer): " + op.label() + where);
    }

    private boolean roll() {
        if (rate >= 100) {
            return true;
        }
        if (rate <= 0) {
            return false;
        }
        synchronized (random) {
            return random.nextDouble() * 100 < rate;
        }
    }
}
