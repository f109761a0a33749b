package dev.sprout.os;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writes from many threads, virtual and platform, go through one {@link SerialWrites}: each lands
 * in its place, a failure reaches only the writer whose write failed, and every writer returns.
 * The writers start each write together, so that every burst ends with writes queued behind the
 * last turn and no later writer to take them: a writer left parked there (a lost wake-up) stops
 * the next burst. They are waited for with a time limit, which fails the test instead of hanging it.
 * Who carries out a queued write is seen through a channel that reports each write's thread.
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

    @Test
    void aPlatformThreadWritesNoWriteQueuedBehindItsOwn() throws Exception {
        assertThat(writerOfQueuedWrite(Thread.ofPlatform().daemon(), Thread.ofPlatform().daemon()))
                .as("the thread that carried out the second write").isEqualTo("second");
    }

    @Test
    void aVirtualThreadWritesTheWritesQueuedBehindItsOwn() throws Exception {
        assertThat(writerOfQueuedWrite(Thread.ofVirtual(), Thread.ofPlatform().daemon()))
                .as("the thread that carried out the second write").isEqualTo("first");
    }

    @Test
    void anErrorInAQueuedWriteReachesItsOwnWriterAndNoOther() throws Exception {
        QueuedWrite run = queuedWrite(Thread.ofVirtual(), Thread.ofPlatform().daemon(),
                new OutOfMemoryError("no direct memory for the second write"));
        assertThat(run.writerOfSecond()).isEqualTo("first");
        assertThat(run.firstFailure()).isNull();
        assertThat(run.secondFailure()).isInstanceOf(OutOfMemoryError.class).hasMessageContaining("second write");
    }

    private String writerOfQueuedWrite(Thread.Builder first, Thread.Builder second) throws Exception {
        QueuedWrite run = queuedWrite(first, second, null);
        assertThat(run.firstFailure()).isNull();
        assertThat(run.secondFailure()).isNull();
        return run.writerOfSecond();
    }

    /** Who carried out the second write of {@link #queuedWrite}, and what each writer's write threw. */
    private record QueuedWrite(String writerOfSecond, Throwable firstFailure, Throwable secondFailure) {
    }

    /**
     * A first writer's write is held up in the channel until a second writer has queued its
     * write and parked; then both go on. With {@code secondFails}, the channel throws it when the
     * second write is carried out, whoever carries it out.
     */
    private QueuedWrite queuedWrite(Thread.Builder first, Thread.Builder second, Error secondFails) throws Exception {
        try (FileChannel file = open("queued.img")) {
            CountDownLatch firstWriting = new CountDownLatch(1);
            CountDownLatch gate = new CountDownLatch(1);
            ConcurrentHashMap<Long, String> writtenBy = new ConcurrentHashMap<>();
            FileChannel channel = new ObservedChannel(file, (position, thread) -> {
                writtenBy.put(position, thread.getName());
                if (position == 0) {
                    firstWriting.countDown();
                    gate.await(30, TimeUnit.SECONDS);
                } else if (secondFails != null) {
                    throw secondFails;
                }
            });
            SerialWrites writes = new SerialWrites(channel);
            AtomicReference<Throwable> firstFailure = new AtomicReference<>();
            AtomicReference<Throwable> secondFailure = new AtomicReference<>();
            Thread one = first.name("first").start(() -> write(writes, 0, firstFailure));
            assertThat(firstWriting.await(30, TimeUnit.SECONDS)).isTrue();
            Thread two = second.name("second").start(() -> write(writes, SLOT, secondFailure));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!(two.getState() == Thread.State.WAITING && LockSupport.getBlocker(two) == writes)) {
                assertThat(System.nanoTime()).as("the second writer parks").isLessThan(deadline);
                Thread.sleep(1);
            }
            gate.countDown();
            assertThat(one.join(Duration.ofSeconds(30)) && two.join(Duration.ofSeconds(30))).as("both writers return").isTrue();
            if (secondFails == null) {
                ByteBuffer back = ByteBuffer.allocate(4096);
                file.read(back, SLOT);
                assertThat(back.flip()).isEqualTo(pattern(1, 0, 4096));
            }
            return new QueuedWrite(writtenBy.get((long) SLOT), firstFailure.get(), secondFailure.get());
        }
    }

    /** Writes a pattern at {@code offset}, keeping what the write threw, if anything. */
    private static void write(SerialWrites writes, long offset, AtomicReference<Throwable> failure) {
        try {
            writes.write(offset, pattern((int) (offset / SLOT), 0, 4096));
        } catch (IOException | RuntimeException | Error e) {
            failure.set(e);
        }
    }

    /** Called before each positional write of an {@link ObservedChannel}, on the writing thread. */
    @FunctionalInterface
    private interface WriteObserver {
        void before(long position, Thread thread) throws InterruptedException;
    }

    /** A file's channel that tells an observer of each positional write before it writes. */
    private static final class ObservedChannel extends FileChannel {
        private final FileChannel file;
        private final WriteObserver observer;

        ObservedChannel(FileChannel file, WriteObserver observer) {
            this.file = file;
            this.observer = observer;
        }

        @Override
        public int write(ByteBuffer src, long position) throws IOException {
            try {
                observer.before(position, Thread.currentThread());
            } catch (InterruptedException e) {
                throw new InterruptedIOException();
            }
            return file.write(src, position);
        }

        @Override
        public int read(ByteBuffer dst, long position) throws IOException {
            return file.read(dst, position);
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            return file.read(dst);
        }

        @Override
        public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
            return file.read(dsts, offset, length);
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            return file.write(src);
        }

        @Override
        public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
            return file.write(srcs, offset, length);
        }

        @Override
        public long position() throws IOException {
            return file.position();
        }

        @Override
        public FileChannel position(long newPosition) throws IOException {
            file.position(newPosition);
            return this;
        }

        @Override
        public long size() throws IOException {
            return file.size();
        }

        @Override
        public FileChannel truncate(long size) throws IOException {
            file.truncate(size);
            return this;
        }

        @Override
        public void force(boolean metaData) throws IOException {
            file.force(metaData);
        }

        @Override
        public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
            return file.transferTo(position, count, target);
        }

        @Override
        public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
            return file.transferFrom(src, position, count);
        }

        @Override
        public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
            return file.map(mode, position, size);
        }

        @Override
        public FileLock lock(long position, long size, boolean shared) throws IOException {
            return file.lock(position, size, shared);
        }

        @Override
        public FileLock tryLock(long position, long size, boolean shared) throws IOException {
            return file.tryLock(position, size, shared);
        }

        @Override
        protected void implCloseChannel() throws IOException {
            file.close();
        }
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
