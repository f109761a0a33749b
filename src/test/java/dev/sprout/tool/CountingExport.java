package dev.sprout.tool;

import dev.sprout.block.AsynchronousWrites;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.Completion;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.block.TransferredWrites;
import dev.sprout.block.ZeroFlags;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An NBD export as a copy sees it, counting which way it was written and zeroed: the writes and
 * zeroings that waited for their reply, those that finished later, and the threads that sent
 * the later ones, and the largest later write. It splices nothing, so that chunks between exports go through memory.
 */
class CountingExport extends ForwardingBlockDevice implements AsynchronousWrites, TransferredWrites {
    final AtomicInteger waited = new AtomicInteger();
    final AtomicInteger dataLater = new AtomicInteger();
    final AtomicInteger zeroesLater = new AtomicInteger();
    final AtomicInteger largestWriteLater = new AtomicInteger();
    final Set<String> senders = ConcurrentHashMap.newKeySet();

    CountingExport(BlockDevice export) {
        super(export);
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        waited.incrementAndGet();
        super.write(offset, src, fua);
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws IOException {
        waited.incrementAndGet();
        super.zero(offset, length, flags);
    }

    @Override
    public void writeLater(long offset, ByteBuffer src, Completion then) {
        dataLater.incrementAndGet();
        largestWriteLater.accumulateAndGet(src.remaining(), Math::max);
        senders.add(Thread.currentThread().getName());
        ((AsynchronousWrites) in).writeLater(offset, src, then);
    }

    @Override
    public void zeroLater(long offset, long length, Completion then) {
        zeroesLater.incrementAndGet();
        senders.add(Thread.currentThread().getName());
        ((AsynchronousWrites) in).zeroLater(offset, length, then);
    }

    @Override
    public boolean prefersTransfers() {
        return ((TransferredWrites) in).prefersTransfers();
    }

    @Override
    public void writeFrom(long offset, long length, Source source, boolean fua) throws IOException {
        waited.incrementAndGet();
        ((TransferredWrites) in).writeFrom(offset, length, source, fua);
    }
}
