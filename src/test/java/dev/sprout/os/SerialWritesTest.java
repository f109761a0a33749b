package dev.sprout.os;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writes from many threads, virtual and platform, go through one {@link SerialWrites}: each lands
 * in its place, a failure reaches only the writer whose write failed, and every writer returns.
 * The writers start each write together, so that every burst ends with writes queued behind the
 * last turn and no later writer to take them: a writer left parked there (a lost wake-up) stops
 * the next burst. They are waited for with a time limit, which fails the test instead of hanging it.
 */
class SerialWritesTest {

    private static final int THREADS = 24;
    private static final int WRITES = 40;
    /** Each write has a slot of this size, and fills the start of it. */
    private static final int SLOT = 64 << 10;
    /** A turn's share in these tests: most turns are handed over with writes still queued. */
    private static final long TURN = 16 << 10;

    @TempDir
    Path dir;

    @Test
    void everyWriteOfManyThreadsLandsInItsPlace() throws Exception {
        try (FileChannel channel = open("many.img")) {
            SerialWrites writes = new SerialWrites(channel, TURN);
            List<long[]> written = runWriters(THREADS, (thread, i, random) -> {
                long offset = slot(thread, i);
                int length = 1 + random.nextInt(SLOT);
                writes.write(offset, pattern(thread, i, length));
                return new long[] {offset, length, thread, i};
            });
            assertThat(written).hasSize(THREADS * WRITES);
            for (long[] write : written) {
                ByteBuffer back = ByteBuffer.allocate((int) write[1]);
                channel.read(back, write[0]);
                assertThat(back.flip()).as("write %d of thread %d", write[3], write[2])
                        .isEqualTo(pattern((int) write[2], (int) write[3], (int) write[1]));
            }
        }
    }

    @Test
    void aFailedWriteFailsItsOwnWriterAndNoOther() throws Exception {
        try (FileChannel channel = open("failing.img")) {
            SerialWrites writes = new SerialWrites(channel, TURN);
            ConcurrentLinkedQueue<String> outcomes = new ConcurrentLinkedQueue<>();
            runWriters(8, (thread, i, random) -> {
                boolean bad = i % 5 == 3;
                try {
                    // A negative position fails inside FileChannel.write, on whichever thread writes.
                    writes.write(bad ? -1 : slot(thread, i), pattern(thread, i, 4096));
                    outcomes.add(bad ? "bad write returned" : "ok");
                } catch (IllegalArgumentException e) {
                    outcomes.add(bad ? "ok" : "good write failed: " + e);
                }
                return null;
            });
            assertThat(outcomes).hasSize(8 * WRITES).containsOnly("ok");
        }
    }

    @Test
    void writesToAClosedChannelFailWithClosedChannel() throws Exception {
        FileChannel channel = open("closed.img");
        SerialWrites writes = new SerialWrites(channel);
        channel.close();
        assertThatThrownBy(() -> writes.write(0, ByteBuffer.allocate(512))).isInstanceOf(ClosedChannelException.class);
    }

    /** One write of a writer thread; returns what it wrote, or null. */
    @FunctionalInterface
    private interface Writer {
        long[] write(int thread, int i, Random random) throws IOException;
    }

    /** Runs {@code threads} writers, half virtual and half platform, {@link #WRITES} writes each. */
    private static List<long[]> runWriters(int threads, Writer writer) throws InterruptedException {
        ConcurrentLinkedQueue<long[]> written = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        CountDownLatch finished = new CountDownLatch(threads);
        CyclicBarrier together = new CyclicBarrier(threads);
        for (int t = 0; t < threads; t++) {
            int thread = t;
            Runnable work = () -> {
                try {
                    Random random = new Random(thread);
                    for (int i = 0; i < WRITES; i++) {
                        together.await(30, TimeUnit.SECONDS);
                        long[] write = writer.write(thread, i, random);
                        if (write != null) {
                            written.add(write);
                        }
                    }
                } catch (Throwable e) {
                    failures.add(e);
                } finally {
                    finished.countDown();
                }
            };
            (thread % 2 == 0 ? Thread.ofVirtual() : Thread.ofPlatform().daemon()).start(work);
        }
        assertThat(finished.await(60, TimeUnit.SECONDS)).as("every writer returned").isTrue();
        assertThat(failures).isEmpty();
        return new ArrayList<>(written);
    }

    private FileChannel open(String name) throws IOException {
        return FileChannel.open(dir.resolve(name), StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
    }

    private static long slot(int thread, int i) {
        return ((long) thread * WRITES + i) * SLOT;
    }

    /** Bytes that name their writer and write, different for every one. */
    private static ByteBuffer pattern(int thread, int i, int length) {
        byte[] bytes = new byte[length];
        new Random(thread * 1_000_003L + i).nextBytes(bytes);
        return ByteBuffer.wrap(bytes);
    }
}
