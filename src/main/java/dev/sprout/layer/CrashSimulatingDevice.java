package dev.sprout.layer;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Capabilities;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.Extent;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.block.RequestException;
import dev.sprout.block.ZeroFlags;
import dev.sprout.layer.PendingChanges.Kind;
import dev.sprout.layer.PendingChanges.Piece;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A disk with a volatile write cache and a power switch. Writes, zeroes and trims are acknowledged
 * into memory and read back from there; a flush or any FUA request writes every one of them
 * below and flushes the device below. While the trigger file exists the power is off: what was
 * not yet written back is gone and every request fails with EIO; once it is removed the device
 * serves what had been made durable. Closing it is a power cut too.
 */
public final class CrashSimulatingDevice extends ForwardingBlockDevice {

    private static final System.Logger LOG = System.getLogger(CrashSimulatingDevice.class.getName());
    private static final int EXTENT_PIECES = 256;

    /** The power switch: off while this file exists; null: never off. */
    private final Path trigger;
    private final WriteBackCache cache;
    /** Guards {@link #off} and {@link #closed}: the power state as requests last confirmed it. */
    private final Object power = new Object();
    private boolean off;
    private boolean closed;

    CrashSimulatingDevice(BlockDevice in, Path trigger, long maxPending) {
        super(in);
        this.trigger = trigger;
        this.cache = new WriteBackCache(in, maxPending);
    }

    /** {@code trigger=PATH,max-pending=SIZE} (default 256M). */
    static BlockDevice create(BlockDevice in, LayerParameters p) {
        p.accept("trigger", "max-pending");
        if (!in.capabilities().writable()) {
            throw new IllegalArgumentException("layer 'crash' caches writes for a writable device, but "
                    + in + " is read-only");
        }
        return new CrashSimulatingDevice(in, p.path("trigger").orElse(null), p.size("max-pending").orElse(256L << 20));
    }

    @Override
    public Capabilities capabilities() {
        Capabilities c = in.capabilities();
        return new Capabilities(c.writable(), true, true, c.trim(), c.zero(), c.fastZero(), c.cache(),
                c.multiConn(), c.extents(), c.blockSizes());
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        int base = dst.position();
        for (Piece piece : cache.pieces(admit("read"), offset, dst.remaining(), Integer.MAX_VALUE)) {
            int at = base + (int) (piece.offset() - offset);
            if (piece.change() == null) {
                in.read(piece.offset(), dst.slice(at, (int) piece.length()));
            } else {
                piece.copyTo(dst, at);
            }
        }
        dst.position(dst.limit());
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        long epoch = admit("write");
        byte[] copy = new byte[src.remaining()];
        src.get(copy);
        cache.put(epoch, offset, copy.length, Kind.DATA, ByteBuffer.wrap(copy).asReadOnlyBuffer(), fua);
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        cache.put(admit("trim"), offset, length, Kind.TRIM, null, fua);
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws IOException {
        long epoch = admit("zero");
        if (flags.fast() && !in.capabilities().fastZero()) {
            throw RequestException.notFast(this);
        }
        cache.put(epoch, offset, length, flags.noHole() ? Kind.ZERO : Kind.PUNCH, null, flags.fua());
    }

    @Override
    public void flush() throws IOException {
        cache.writeBack(admit("flush"), false);
    }

    @Override
    public void cache(long offset, long length) throws IOException {
        admit("cache");
        in.cache(offset, length);
    }

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        List<Piece> pieces = cache.pieces(admit("extents"), offset, length, EXTENT_PIECES);
        if (pieces.getFirst().change() == null) {
            return in.extents(offset, pieces.getFirst().length());
        }
        return PendingChanges.extents(pieces);
    }

    /** Drops what was never written back, as pulling the plug would, and closes the device below. */
    @Override
    public void close() throws IOException {
        synchronized (power) {
            closed = true;
            long lost = cache.cut();
            if (lost > 0) {
                LOG.log(Level.INFO, "crash layer: closed with {0,number,#} bytes never flushed; they are lost", lost);
            }
        }
        in.close();
    }

    /**
     * Lets a request in and returns its power epoch, or fails it while the power is off. A change
     * of power is confirmed by looking at the trigger again under the lock, so a request that
     * looked just before another can never undo what the other saw.
     */
    private long admit(String op) throws DeviceException {
        boolean triggered = triggered();
        synchronized (power) {
            if (closed) {
                throw new DeviceException(Errno.ESHUTDOWN, this + " is closed");
            }
            if (triggered != off && triggered() != off) {
                off = !off;
                if (off) {
                    LOG.log(Level.WARNING, "crash layer: {0} appeared: power cut, {1,number,#} bytes never flushed are lost",
                            trigger, cache.cut());
                } else {
                    LOG.log(Level.INFO, "crash layer: {0} is gone: power back, serving the flushed state", trigger);
                }
            }
            if (off) {
                throw new DeviceException(Errno.EIO, "power cut (crash layer): " + op + " fails while " + trigger + " exists");
            }
            return cache.epoch();
        }
    }

    private boolean triggered() {
        return trigger != null && Files.exists(trigger);
    }
}
