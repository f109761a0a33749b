package dev.sprout.server;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.Extent;
import dev.sprout.block.ForwardingBlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * A test layer whose reads and extent queries touching one bad range fail: with an EIO device
 * error, or with an unexpected runtime exception to exercise the server's last line of defence.
 */
final class FaultyDevice extends ForwardingBlockDevice {

    private final long badStart;
    private final long badEnd;
    private final boolean unexpected;

    /** Fails operations touching {@code [badStart, badEnd)}; {@code unexpected} throws a bug instead of EIO. */
    FaultyDevice(BlockDevice in, long badStart, long badEnd, boolean unexpected) {
        super(in);
        this.badStart = badStart;
        this.badEnd = badEnd;
        this.unexpected = unexpected;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        check(offset, dst.remaining());
        in.read(offset, dst);
    }

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        check(offset, length);
        return in.extents(offset, length);
    }

    private void check(long offset, long length) throws DeviceException {
        if (offset < badEnd && offset + length > badStart) {
            if (unexpected) {
                throw new IllegalStateException("injected bug at " + offset);
            }
            throw new DeviceException(Errno.EIO, this + " injected error at " + offset);
        }
    }
}
