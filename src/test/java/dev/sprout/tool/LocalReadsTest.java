package dev.sprout.tool;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.ForwardingBlockDevice;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/** A local device read in the shape of asynchronous reads: where reads run, failures, and no nesting. */
class LocalReadsTest {

    @Test
    void aReadRunsOnTheThreadThatAsksAndItsBytesArrive() throws IOException {
        try (MemoryBlockDevice memory = MemoryBlockDevice.create(1 << 20)) {
            memory.write(4096, ByteBuffer.wrap(new byte[] {1, 2, 3, 4}), false);
            ByteBuffer dst = ByteBuffer.allocate(4);
            AtomicReference<String> thread = new AtomicReference<>();
            new LocalReads(memory).readLater(4096, dst, failure -> {
                assertThat(failure).isNull();
                thread.set(Thread.currentThread().getName());
            });
            assertThat(thread.get()).isEqualTo(Thread.currentThread().getName());
            assertThat(dst.position()).as("the position is the caller's").isZero();
            assertThat(dst.array()).containsExactly(1, 2, 3, 4);
        }
    }

    @Test
    void aFailedReadReachesItsCompletion() throws IOException {
        BlockDevice failing = new ForwardingBlockDevice(MemoryBlockDevice.create(1 << 20)) {
            @Override
            public void read(long offset, ByteBuffer dst) throws IOException {
                throw new DeviceException(Errno.EIO, "bad sector at " + offset);
            }
        };
        AtomicReference<IOException> seen = new AtomicReference<>();
        new LocalReads(failing).readLater(512, ByteBuffer.allocate(512), seen::set);
        assertThat(seen.get()).isInstanceOf(DeviceException.class).hasMessage("bad sector at 512");
        failing.close();
    }

    /**
     * A chain of chunks that need no request: each completion asks for the next read at once.
     * They run one after another on this thread, the stack no deeper for the hundred-thousandth.
     */
    @Test
    void readsAskedForFromACompletionRunAfterItNotInsideIt() throws IOException {
        try (MemoryBlockDevice memory = MemoryBlockDevice.create(1 << 20)) {
            LocalReads reads = new LocalReads(memory);
            ByteBuffer dst = ByteBuffer.allocate(512);
            AtomicInteger done = new AtomicInteger();
            int[] depth = new int[2]; // of the first completion, and the deepest
            Runnable[] next = new Runnable[1];
            next[0] = () -> reads.readLater(0, dst, failure -> {
                int here = Thread.currentThread().getStackTrace().length;
                if (done.getAndIncrement() == 0) {
                    depth[0] = here;
                }
                depth[1] = Math.max(depth[1], here);
                if (done.get() < 100_000) {
                    next[0].run();
                }
            });
            next[0].run();

            assertThat(done).hasValue(100_000);
            assertThat(depth[1]).as("the deepest completion's stack").isEqualTo(depth[0]);
        }
    }
}
