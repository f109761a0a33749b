package dev.sprout.tool;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.Capabilities;
import dev.sprout.block.Completion;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.Extent;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.block.RequestException;
import dev.sprout.client.MultiConnectionDevice;
import dev.sprout.client.SplicedChunk;
import dev.sprout.client.SplicedTransfers;
import dev.sprout.os.KernelPipe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Copy from one NBD export into another, where a read's completion starts its chunk's writes and
 * the last write's completion the next read, so that no thread waits for a reply: content, zeroes
 * on a used or a fresh destination, which way every write went, and failures that end the copy
 * instead of hanging it.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a stalled chain fails, not hangs
class CopyBetweenNbdTest {

    private static final int KiB = 1 << 10;
    private static final int MiB = 1 << 20;
    private static final long SIZE = 64L * MiB;
    /** The data the source holds; see {@link #source()}. */
    private static final long DATA = SIZE / 2 + MiB - 64 * KiB;

    @TempDir
    Path dir;

    /**
     * 64 KiB of data every 128 KiB (holes between), and at 32 MiB 2 MiB of data written whole,
     * whose second 64 KiB block is zeroes: the source's extents call it data, the copy finds it zero.
     */
    private static MemoryBlockDevice source() throws IOException {
        MemoryBlockDevice device = MemoryBlockDevice.create(SIZE);
        Random random = new Random(21);
        byte[] data = new byte[64 * KiB];
        for (long at = 0; at < SIZE; at += 128 * KiB) {
            random.nextBytes(data);
            device.write(at, ByteBuffer.wrap(data), false);
        }
        byte[] whole = new byte[2 * MiB];
        random.nextBytes(whole);
        Arrays.fill(whole, 64 * KiB, 128 * KiB, (byte) 0);
        device.write(32L * MiB, ByteBuffer.wrap(whole), false);
        return device;
    }

    /** A destination full of other bytes, which every hole and zero block of the source must overwrite. */
    private static MemoryBlockDevice used() throws IOException {
        MemoryBlockDevice device = MemoryBlockDevice.create(SIZE);
        byte[] junk = new byte[MiB];
        new Random(22).nextBytes(junk);
        for (long at = 0; at < SIZE; at += MiB) {
            device.write(at, ByteBuffer.wrap(junk), false);
        }
        return device;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void onAUsedDestinationDataIsWrittenAndZeroesZeroedWithoutWaiting(int connections) throws Exception {
        try (MemoryBlockDevice from = source(); MemoryBlockDevice to = used();
             ServedDevice source = ServedDevice.serve(dir, from); ServedDevice destination = ServedDevice.serve(dir, to);
             BlockDevice reads = MultiConnectionDevice.connect(source.uri(), connections, note -> { });
             CountingExport writes = new CountingExport(MultiConnectionDevice.connect(destination.uri(), connections, note -> { }))) {
            Copy.Summary summary = Copy.run(reads, writes, new Copy.Options(Copy.AUTO_REQUESTS, false), new Progress(SIZE, null));

            assertThat(Compare.firstDifference(from, to)).isEmpty();
            assertThat(summary.dataBytes()).isEqualTo(DATA);
            assertThat(writes.waited).as("writes and zeroings that waited for their reply").hasValue(0);
            // 496 blocks of 64 KiB alone, and the 2 MiB as three writes: before the zero block, the rest of
            // its first MiB (chunks are cut at whole MiB), its second MiB.
            assertThat(writes.dataLater).hasValue(496 + 3);
            assertThat(writes.largestWriteLater).as("the second MiB, a whole chunk").hasValue(Copy.REQUEST_SIZE);
            assertThat(writes.zeroesLater).as("holes between the data, and the zero block").hasValue(496 + 1);
        }
    }

    /**
     * Over Unix sockets each chunk's data passes through a pipe (spliced out of the source's socket
     * into the destination's), cut into the same runs as through memory; over TCP it goes through
     * memory. The content is checked both ways.
     */
    @ParameterizedTest
    @ValueSource(strings = {"unix", "tcp"})
    void betweenUnixSocketsDataIsSplicedAndOverTcpWrittenFromMemory(String transport) throws Exception {
        boolean unix = transport.equals("unix");
        try (MemoryBlockDevice from = source(); MemoryBlockDevice to = used();
             ServedDevice source = unix ? ServedDevice.serve(dir, from) : ServedDevice.serveOnTcp(from);
             ServedDevice destination = unix ? ServedDevice.serve(dir, to) : ServedDevice.serveOnTcp(to);
             BlockDevice reads = MultiConnectionDevice.connect(source.uri(), 2, note -> { });
             CountingSplices writes = new CountingSplices(MultiConnectionDevice.connect(destination.uri(), 2, note -> { }))) {
            Copy.Summary summary = Copy.run(reads, writes, new Copy.Options(Copy.AUTO_REQUESTS, false), new Progress(SIZE, null));

            assertThat(Compare.firstDifference(from, to)).isEmpty();
            assertThat(summary.dataBytes()).isEqualTo(DATA);
            assertThat(writes.waited).hasValue(0);
            assertThat(writes.spliced).as("data runs spliced").hasValue(unix ? 496 + 3 : 0);
            assertThat(writes.dataLater).as("data runs written from memory").hasValue(unix ? 0 : 496 + 3);
            assertThat(writes.zeroesLater).hasValue(496 + 1);
        }
    }

    @Test
    void onAFreshDestinationHolesAndZeroBlocksAreLeftAlone() throws Exception {
        try (MemoryBlockDevice from = source(); MemoryBlockDevice to = MemoryBlockDevice.create(SIZE);
             ServedDevice source = ServedDevice.serve(dir, from); ServedDevice destination = ServedDevice.serve(dir, to);
             BlockDevice reads = MultiConnectionDevice.connect(source.uri(), 2, note -> { });
             CountingExport writes = new CountingExport(MultiConnectionDevice.connect(destination.uri(), 2, note -> { }))) {
            Copy.run(reads, writes, new Copy.Options(Copy.AUTO_REQUESTS, true), new Progress(SIZE, null));

            assertThat(Compare.firstDifference(from, to)).isEmpty();
            assertThat(writes.zeroesLater).hasValue(0);
            assertThat(writes.waited).hasValue(0);
            assertThat(to.extents(32L * MiB + 64 * KiB, 64 * KiB))
                    .as("the zero block, never written").containsExactly(Extent.unallocated(32L * MiB + 64 * KiB, 64 * KiB));
        }
    }

    @Test
    void aReadOnlyDestinationFailsTheCopyAtOnce() throws Exception {
        BlockDevice readOnly = new ForwardingBlockDevice(MemoryBlockDevice.create(SIZE)) {
            @Override
            public Capabilities capabilities() {
                return in.capabilities().readOnly();
            }
        };
        try (MemoryBlockDevice from = source(); ServedDevice source = ServedDevice.serve(dir, from);
             ServedDevice destination = ServedDevice.serve(dir, readOnly);
             BlockDevice reads = MultiConnectionDevice.connect(source.uri(), 1, note -> { });
             BlockDevice writes = MultiConnectionDevice.connect(destination.uri(), 1, note -> { })) {
            assertThatThrownBy(() -> Copy.run(reads, writes, new Copy.Options(Copy.AUTO_REQUESTS, false), new Progress(SIZE, null)))
                    .isInstanceOf(RequestException.class).hasMessageContaining("read-only");
        } finally {
            readOnly.close();
        }
    }

    @Test
    void aWriteErrorOnTheDestinationFailsTheCopyWithItsErrno() throws Exception {
        BlockDevice failing = new ForwardingBlockDevice(MemoryBlockDevice.create(SIZE)) {
            @Override
            public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
                if (offset + src.remaining() > 40L * MiB && offset < 41L * MiB) {
                    throw new DeviceException(Errno.ENOSPC, "no room near 40 MiB");
                }
                in.write(offset, src, fua);
            }
        };
        try (MemoryBlockDevice from = source(); ServedDevice source = ServedDevice.serve(dir, from);
             ServedDevice destination = ServedDevice.serve(dir, failing);
             BlockDevice reads = MultiConnectionDevice.connect(source.uri(), 2, note -> { });
             BlockDevice writes = MultiConnectionDevice.connect(destination.uri(), 2, note -> { })) {
            assertThatThrownBy(() -> Copy.run(reads, writes, new Copy.Options(Copy.AUTO_REQUESTS, true), new Progress(SIZE, null)))
                    .isInstanceOfSatisfying(DeviceException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENOSPC))
                    .hasMessageContaining("WRITE");
        } finally {
            failing.close();
        }
    }

    /** {@link CountingExport} for an export that splices, counting its spliced writes too. */
    private static final class CountingSplices extends CountingExport implements SplicedTransfers {
        final AtomicInteger spliced = new AtomicInteger();
        private final SplicedTransfers export;

        CountingSplices(BlockDevice export) {
            super(export);
            this.export = (SplicedTransfers) export;
        }

        @Override
        public boolean canSplice() {
            return export.canSplice();
        }

        @Override
        public void readSpliced(SplicedChunk chunk, Completion then) {
            export.readSpliced(chunk, then);
        }

        @Override
        public void writeSpliced(long offset, int length, KernelPipe pipe, Completion then) {
            spliced.incrementAndGet();
            export.writeSpliced(offset, length, pipe, then);
        }
    }
}
