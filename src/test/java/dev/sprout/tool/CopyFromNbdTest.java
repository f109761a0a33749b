package dev.sprout.tool;

import dev.sprout.backend.FileBlockDevice;
import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockSizes;
import dev.sprout.block.Capabilities;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.Extent;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.client.MultiConnectionDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Copy out of an NBD export into a file, where each chunk is written by the connection's reader
 * thread that received it: content, sparseness, zeroing of a used destination, extents asked for
 * in several rounds (some from a reader thread, which must hand that off), and failures.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a stalled reader fails, not hangs
class CopyFromNbdTest {

    private static final int MiB = 1 << 20;
    /** Data every 128 KiB: 4,096 extents, four times what one BLOCK_STATUS reply of sprout carries. */
    private static final long SIZE = 256L * MiB;

    @TempDir
    Path dir;

    private static MemoryBlockDevice scattered() throws IOException {
        MemoryBlockDevice device = MemoryBlockDevice.create(SIZE);
        Random random = new Random(3);
        byte[] data = new byte[64 * 1024];
        for (long at = 0; at < SIZE; at += 128 * 1024) {
            random.nextBytes(data);
            device.write(at, ByteBuffer.wrap(data), false);
        }
        byte[] tail = new byte[3 * MiB];
        random.nextBytes(tail);
        device.write(SIZE - tail.length, ByteBuffer.wrap(tail), false); // whole 1 MiB chunks as well
        return device;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void copiesIntoANewFileKeepingHoles(int connections) throws Exception {
        Path target = dir.resolve("out.img");
        try (MemoryBlockDevice memory = scattered(); ServedDevice server = ServedDevice.serve(dir, memory);
             BlockDevice source = MultiConnectionDevice.connect(server.uri(), connections, note -> { });
             FileBlockDevice destination = FileBlockDevice.open(target, false, OptionalLong.of(SIZE))) {
            destination.writeBehind();
            Copy.Summary summary = Copy.run(source, destination, new Copy.Options(16, true), new Progress(SIZE, null));
            assertThat(Compare.firstDifference(memory, destination)).isEmpty();
            assertThat(summary.dataBytes()).isEqualTo(SIZE / 2 - 24 * 64 * 1024 + 3 * MiB);
            assertThat(allocated(destination)).as("bytes the file holds as data (SEEK_DATA)").isLessThan(SIZE * 3 / 4);
        }
        assertThat(Files.size(target)).isEqualTo(SIZE);
    }

    private static long allocated(BlockDevice device) throws IOException {
        long data = 0;
        for (long at = 0; at < device.size(); ) {
            for (Extent extent : device.extents(at, device.size() - at)) {
                data += extent.zero() ? 0 : extent.length();
                at = extent.end();
            }
        }
        return data;
    }

    @Test
    @Timeout(value = 20, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void asksTheSourceForExtentsAgainWithoutStallingAReaderThread() throws Exception {
        // 16 MiB of data that the server reports as 512 bytes of data, 512 of zeroes, ...: 32,768
        // extents, two BLOCK_STATUS replies' worth, so chains ask again once the first answer runs out.
        int block = 512;
        long size = 16L * MiB;
        byte[] data = new byte[(int) size];
        new Random(6).nextBytes(data);
        AtomicInteger queries = new AtomicInteger();
        MemoryBlockDevice memory = MemoryBlockDevice.create(size);
        memory.write(0, ByteBuffer.wrap(data), false);
        BlockDevice striped = new ForwardingBlockDevice(memory) {
            @Override
            public List<Extent> extents(long offset, long length) {
                queries.incrementAndGet();
                List<Extent> extents = new ArrayList<>();
                for (long at = offset; at < offset + length && extents.size() < 1000; at = extents.getLast().end()) {
                    long end = Math.min(offset + length, (at / block + 1) * block);
                    extents.add((at / block) % 2 == 0 ? Extent.data(at, end - at) : new Extent(at, end - at, true, true));
                }
                return extents;
            }
        };
        try (ServedDevice server = ServedDevice.serve(dir, striped);
             BlockDevice source = MultiConnectionDevice.connect(server.uri(), 1, note -> { });
             MemoryBlockDevice destination = MemoryBlockDevice.create(size)) {
            Copy.run(source, destination, new Copy.Options(8, true), new Progress(size, null));
            byte[] copied = new byte[(int) size];
            destination.read(0, ByteBuffer.wrap(copied));
            for (int at = 0; at < size; at += block) {
                byte[] expected = (at / block) % 2 == 0 ? Arrays.copyOfRange(data, at, at + block) : new byte[block];
                assertThat(Arrays.copyOfRange(copied, at, at + block)).as("block at %d", at).isEqualTo(expected);
            }
        } finally {
            striped.close();
        }
        assertThat(queries.get()).as("extents asked of the server's device").isGreaterThan(32);
    }

    @Test
    @Timeout(value = 20, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aServerTakingOnly64KiBReadsDoesNotStallTheReadChains() throws Exception {
        // 1 MiB chunks would be 16 READs each: 64 chains could hold 1,024 requests, 64 at most go out,
        // and a reader sending a chain's next chunk would wait for a request only it can free.
        MemoryBlockDevice memory = scattered();
        BlockDevice small = new ForwardingBlockDevice(memory) {
            @Override
            public Capabilities capabilities() {
                return new Capabilities(false, true, false, false, false, false, false, true, true,
                        new BlockSizes(1, 4096, 64 * 1024));
            }
        };
        try (ServedDevice server = ServedDevice.serve(dir, small);
             BlockDevice source = MultiConnectionDevice.connect(server.uri(), 1, note -> { });
             MemoryBlockDevice destination = MemoryBlockDevice.create(SIZE)) {
            Copy.run(source, destination, new Copy.Options(64, true), new Progress(SIZE, null));
            assertThat(Compare.firstDifference(memory, destination)).isEmpty();
        } finally {
            small.close();
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    @Timeout(value = 20, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void moreChainsThanAConnectionTakesRequestsDoNotStallTheReaders(int connections) throws Exception {
        // A connection has 64 requests in flight at most. With more chains, a reader sending its
        // chain's next read (to its own connection or, spread round-robin, to another) found none
        // free: it waited for a request only a reader can free (--requests 128 hung).
        MemoryBlockDevice memory = scattered();
        try (ServedDevice server = ServedDevice.serve(dir, memory);
             BlockDevice source = MultiConnectionDevice.connect(server.uri(), connections, note -> { });
             MemoryBlockDevice destination = MemoryBlockDevice.create(SIZE)) {
            Copy.run(source, destination, new Copy.Options(150, true), new Progress(SIZE, null));
            assertThat(Compare.firstDifference(memory, destination)).isEmpty();
        } finally {
            memory.close();
        }
    }

    @Test
    void zeroesWhatIsAHoleInTheSourceOnAUsedDestination() throws Exception {
        try (MemoryBlockDevice memory = scattered(); ServedDevice server = ServedDevice.serve(dir, memory);
             BlockDevice source = MultiConnectionDevice.connect(server.uri(), 2, note -> { });
             MemoryBlockDevice used = MemoryBlockDevice.create(SIZE)) {
            byte[] junk = new byte[8 * MiB];
            new Random(4).nextBytes(junk);
            for (long at = 0; at < SIZE; at += 32 * MiB) {
                used.write(at, ByteBuffer.wrap(junk), false);
            }
            Copy.run(source, used, new Copy.Options(8, false), new Progress(SIZE, null));
            assertThat(Compare.firstDifference(memory, used)).isEmpty();
        }
    }

    @Test
    void aReadErrorFailsTheCopyWithItsErrnoAndStopsIt() throws Exception {
        BlockDevice failing = new ForwardingBlockDevice(scattered()) {
            @Override
            public void read(long offset, ByteBuffer dst) throws IOException {
                if (offset + dst.remaining() > 100L * MiB && offset < 101L * MiB) {
                    throw new DeviceException(Errno.EIO, "medium error near 100 MiB");
                }
                in.read(offset, dst);
            }
        };
        try (ServedDevice server = ServedDevice.serve(dir, failing);
             BlockDevice source = MultiConnectionDevice.connect(server.uri(), 2, note -> { });
             MemoryBlockDevice destination = MemoryBlockDevice.create(SIZE)) {
            assertThatThrownBy(() -> Copy.run(source, destination, new Copy.Options(16, true), new Progress(SIZE, null)))
                    .isInstanceOfSatisfying(DeviceException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EIO))
                    .hasMessageContaining("READ");
        } finally {
            failing.close();
        }
    }
}
