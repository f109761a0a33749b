package dev.sprout.tool;

import dev.sprout.block.AsynchronousReads;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.Completion;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;

/**
 * A local device's reads in the shape of {@link AsynchronousReads}, for a copy's chains into an
 * NBD export: each read runs on the thread that asks for it (the export connection's reader, whose
 * reply finished the chunk before), as nbdcopy's workers read the next chunk themselves, and its
 * completion runs there too. A read asked for from inside one of these completions (a chunk that
 * needed no request, so its writes finished at once) waits until that completion has returned and
 * then runs in a loop, not a nested call: a long run of such chunks never deepens the stack.
 */
final class LocalReads implements AsynchronousReads {

    private final BlockDevice device;
    /** The reads waiting on this thread while one of its reads' completions runs; null outside one. */
    private final ThreadLocal<ArrayDeque<Runnable>> waiting = new ThreadLocal<>();

    LocalReads(BlockDevice device) {
        this.device = device;
    }

    @Override
    public void readLater(long offset, ByteBuffer dst, Completion then) {
        Runnable read = () -> readNow(offset, dst, then);
        ArrayDeque<Runnable> queue = waiting.get();
        if (queue != null) {
            queue.add(read);
            return;
        }
        queue = new ArrayDeque<>();
        waiting.set(queue);
        try {
            for (Runnable next = read; next != null; next = queue.poll()) {
                next.run();
            }
        } finally {
            waiting.remove();
        }
    }

    private void readNow(long offset, ByteBuffer dst, Completion then) {
        IOException failure = null;
        try {
            device.read(offset, dst.duplicate());
        } catch (IOException e) {
            failure = e;
        }
        then.done(failure);
    }
}
