package dev.sprout.block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

/**
 * The conformance suite every backend, format and layer runs: a test class extends it, builds its
 * device in {@link #newDevice} and inherits every case of the {@link BlockDevice} contract.
 *
 * <p>Hooks, overridden when the device under test differs from a plain writable disk:
 * <ul>
 *   <li>{@link #newDevice} (required): a fresh device of exactly the given size.</li>
 *   <li>{@link #writable()}: false for a read-only device; the write cases are then skipped and
 *       the device must refuse writes, trims and zeroes with {@link Errno#EPERM}.</li>
 *   <li>{@link #retainsWrites()}: false for a sink that accepts writes and forgets them (reads
 *       then keep their old content); the read-back cases are skipped.</li>
 *   <li>{@link #startsZeroed()}: false when a fresh device has content (a pattern, a base image).
 *       Every other case reads the initial content first and expects it where nothing was written.</li>
 *   <li>{@link #trimReadsZeroes()}: false when trimmed bytes may keep their old data, as the
 *       contract allows; they must then read as zeroes or as before.</li>
 *   <li>{@link #supportsUnalignedSize()}: false when sizes must be a multiple of 4 KiB.</li>
 * </ul>
 *
 * <p>Random data comes from fixed seeds, so a failure replays exactly.
 */
public abstract class BlockDeviceContract {

    /** The size of most devices under test: 16 pages of 64 KiB, 256 blocks of 4 KiB. */
    protected static final long SIZE = 1 << 20;
    /** An odd size, for the cases about the end of the device. */
    protected static final long ODD_SIZE = SIZE + 4096 + 513;

    private static final long SEED = 0x5eed_b10cL;
    private static final int NEIGHBOURHOOD = 257;

    /** A fresh device of exactly {@code size} bytes; the case closes it. */
    protected abstract BlockDevice newDevice(long size) throws IOException;

    /** Whether the device accepts writes, trims and zeroes. */
    protected boolean writable() {
        return true;
    }

    /** Whether written data reads back; false only for sinks. */
    protected boolean retainsWrites() {
        return true;
    }

    /** Whether a fresh device reads as zeroes throughout. */
    protected boolean startsZeroed() {
        return true;
    }

    /** Whether trimmed bytes always read as zeroes afterwards. */
    protected boolean trimReadsZeroes() {
        return true;
    }

    /** Whether {@link #newDevice} accepts sizes that are not a multiple of 4 KiB. */
    protected boolean supportsUnalignedSize() {
        return true;
    }

    @Test
    public void reportsTheRequestedSize() throws IOException {
        try (BlockDevice device = newDevice(SIZE)) {
            assertThat(device.size()).isEqualTo(SIZE);
        }
    }

    @Test
    public void capabilitiesMatchWritability() throws IOException {
        try (BlockDevice device = newDevice(SIZE)) {
            Capabilities caps = device.capabilities();
            assertThat(caps.writable()).isEqualTo(writable());
            if (!caps.writable()) {
                assertThat(caps.trim() || caps.zero() || caps.fastZero()).isFalse();
            }
        }
    }

    @Test
    public void freshDeviceReadsZeroes() throws IOException {
        assumeTrue(startsZeroed());
        try (BlockDevice device = newDevice(SIZE)) {
            assertThat(firstNonZero(read(device, 0, (int) SIZE))).isEqualTo(-1);
        }
    }

    @Test
    public void readFillsHeapAndDirectBuffersFromPositionToLimitAndAdvancesThePosition() throws IOException {
        try (BlockDevice device = newDevice(SIZE)) {
            if (writable()) {
                write(device, 60_000, randomBytes(10_000, 1));
            }
            byte[] expected = read(device, 65_000, 5000);
            for (ByteBuffer dst : List.of(ByteBuffer.allocate(5011), ByteBuffer.allocateDirect(5011))) {
                fill(dst, (byte) 0x5a);
                dst.position(4).limit(5004);
                device.read(65_000, dst);
                assertThat(dst.position()).as("position after the read, like a channel's").isEqualTo(5004);
                assertThat(dst.limit()).isEqualTo(5004);
                dst.clear();
                byte[] all = new byte[dst.remaining()];
                dst.get(all);
                assertThat(Arrays.copyOfRange(all, 4, 5004)).isEqualTo(expected);
                assertThat(Arrays.copyOfRange(all, 0, 4)).containsOnly(0x5a);
                assertThat(Arrays.copyOfRange(all, 5004, 5011)).containsOnly(0x5a);
            }
        }
    }

    @Test
    public void readsBackWritesAtUnalignedOffsetsAndAcrossBoundaries() throws IOException {
        assumeTrue(writable() && retainsWrites());
        try (BlockDevice device = newDevice(SIZE)) {
            byte[] model = read(device, 0, (int) SIZE);
            int salt = 0;
            for (long offset : new long[] {0, 1, 511, 4095, 65_533, 65_536, 3 * 65_536 + 17, 700_001}) {
                for (int length : new int[] {1, 7, 4096, 65_538, 200_001}) {
                    byte[] data = randomBytes(length, ++salt);
                    write(device, offset, data);
                    System.arraycopy(data, 0, model, (int) offset, length);
                    assertNeighbourhood(device, model, offset, length);
                }
            }
            assertThat(read(device, 0, (int) SIZE)).isEqualTo(model);
        }
    }

    @Test
    public void writeConsumesHeapReadOnlyAndDirectSources() throws IOException {
        assumeTrue(writable());
        try (BlockDevice device = newDevice(SIZE)) {
            byte[] data = randomBytes(70_000, 2);
            ByteBuffer direct = ByteBuffer.allocateDirect(70_010);
            direct.position(10);
            direct.put(data).position(10);
            List<ByteBuffer> sources = List.of(ByteBuffer.wrap(data), ByteBuffer.wrap(data).asReadOnlyBuffer(), direct);
            long offset = 3;
            for (ByteBuffer src : sources) {
                device.write(offset, src, false);
                assertThat(src.remaining()).as("unconsumed bytes of %s", src).isZero();
                if (retainsWrites()) {
                    assertThat(read(device, offset, data.length)).isEqualTo(data);
                }
                offset += 300_007;
            }
        }
    }

    @Test
    public void readIfReadyEitherReadsLikeReadOrLeavesTheBufferUntouched() throws IOException {
        try (BlockDevice device = newDevice(SIZE)) {
            byte[] data = randomBytes(70_000, 11);
            if (writable()) {
                write(device, 5, data);
            }
            byte[] expected = read(device, 5, data.length);
            for (ByteBuffer dst : List.of(ByteBuffer.allocate(data.length), ByteBuffer.allocateDirect(data.length))) {
                if (device.readIfReady(5, dst)) {
                    assertThat(dst.remaining()).as("unfilled bytes of %s", dst).isZero();
                    byte[] got = new byte[data.length];
                    dst.flip().get(got);
                    assertThat(got).isEqualTo(expected);
                } else {
                    assertThat(dst.position()).as("position of %s after a refusal", dst).isZero();
                }
            }
            if (device.nonBlocking()) {
                assertThat(device.readIfReady(5, ByteBuffer.allocate(16))).as("a non-blocking device is always ready").isTrue();
            }
        }
    }

    @Test
    public void writeIfReadyEitherWritesLikeWriteOrConsumesNothing() throws IOException {
        assumeTrue(writable());
        try (BlockDevice device = newDevice(SIZE)) {
            byte[] data = randomBytes(70_000, 12);
            for (boolean fua : new boolean[] {false, true}) {
                ByteBuffer src = ByteBuffer.allocateDirect(data.length).put(data).flip();
                long offset = fua ? 300_001 : 7;
                byte[] before = read(device, offset, data.length);
                if (device.writeIfReady(offset, src, fua)) {
                    assertThat(src.remaining()).as("unconsumed bytes").isZero();
                    if (retainsWrites()) {
                        assertThat(read(device, offset, data.length)).isEqualTo(data);
                    }
                } else {
                    assertThat(src.position()).as("position after a refusal").isZero();
                    assertThat(read(device, offset, data.length)).as("nothing written").isEqualTo(before);
                }
            }
        }
    }

    @Test
    public void readsAndWritesTheLastBytes() throws IOException {
        long size = supportsUnalignedSize() ? ODD_SIZE : SIZE;
        try (BlockDevice device = newDevice(size)) {
            assertThat(device.size()).isEqualTo(size);
            byte[] before = read(device, size - 70_000, 70_000);
            if (writable()) {
                byte[] data = randomBytes(3, 3);
                write(device, size - 3, data);
                if (retainsWrites()) {
                    System.arraycopy(data, 0, before, before.length - 3, 3);
                }
            }
            assertThat(read(device, size - 70_000, 70_000)).isEqualTo(before);
            assertThat(read(device, size - 1, 1)).containsExactly(before[before.length - 1]);
        }
    }

    @Test
    public void fuaWritesFlushAndCacheAreAccepted() throws IOException {
        try (BlockDevice device = newDevice(SIZE)) {
            if (writable()) {
                byte[] data = randomBytes(5000, 4);
                device.write(4096, ByteBuffer.wrap(data), true);
                if (retainsWrites()) {
                    assertThat(read(device, 4096, 5000)).isEqualTo(data);
                }
            }
            device.flush();
            device.cache(0, SIZE);
            device.cache(SIZE - 1, 1);
        }
    }

    @Test
    public void zeroMakesTheRangeReadZeroesAndSparesItsNeighbours() throws IOException {
        assumeTrue(writable() && retainsWrites());
        List<ZeroFlags> flagSets = List.of(ZeroFlags.PUNCH, new ZeroFlags(true, false, false),
                new ZeroFlags(false, false, true));
        try (BlockDevice device = newDevice(SIZE)) {
            byte[] model = randomBytes((int) SIZE, 5);
            write(device, 0, model);
            long[][] ranges = {{1, 1}, {100, 65_536}, {65_535, 2}, {131_072, 65_536}, {4095, 300_000},
                {SIZE - 70_001, 70_001}};
            int i = 0;
            for (long[] range : ranges) {
                ZeroFlags flags = flagSets.get(i++ % flagSets.size());
                device.zero(range[0], range[1], flags);
                Arrays.fill(model, (int) range[0], (int) (range[0] + range[1]), (byte) 0);
                assertNeighbourhood(device, model, range[0], range[1]);
            }
            assertThat(read(device, 0, (int) SIZE)).isEqualTo(model);
        }
    }

    @Test
    public void fastZeroEitherZeroesOrRefusesWithEnotsupLeavingTheData() throws IOException {
        assumeTrue(writable() && retainsWrites());
        try (BlockDevice device = newDevice(SIZE)) {
            byte[] data = randomBytes(200_000, 6);
            write(device, 10_000, data);
            Throwable refusal = catchThrowable(() -> device.zero(20_000, 150_000, new ZeroFlags(false, true, false)));
            if (refusal == null) {
                Arrays.fill(data, 10_000, 160_000, (byte) 0);
            } else {
                assertThat(refusal).isInstanceOf(RequestException.class);
                assertThat(((BlockException) refusal).errno()).isEqualTo(Errno.ENOTSUP);
            }
            assertThat(read(device, 10_000, data.length)).isEqualTo(data);
        }
    }

    @Test
    public void trimmedBytesReadAsZeroesOrAsBefore() throws IOException {
        assumeTrue(writable() && retainsWrites());
        try (BlockDevice device = newDevice(SIZE)) {
            byte[] before = randomBytes((int) SIZE, 7);
            write(device, 0, before);
            long offset = 12_345;
            int length = 400_000;
            device.trim(offset, length, false);
            byte[] after = read(device, 0, (int) SIZE);
            for (int i = 0; i < SIZE; i++) {
                boolean trimmed = i >= offset && i < offset + length;
                boolean allowed = trimmed
                        ? after[i] == 0 || !trimReadsZeroes() && after[i] == before[i]
                        : after[i] == before[i];
                if (!allowed) {
                    assertThat(after[i]).as("%s byte %d, was %d", trimmed ? "trimmed" : "untrimmed", i, before[i])
                            .isEqualTo(trimmed ? 0 : before[i]);
                }
            }
        }
    }

    @Test
    public void zeroingAndTrimmingUnwrittenRangesKeepsThemZero() throws IOException {
        assumeTrue(writable() && startsZeroed());
        try (BlockDevice device = newDevice(SIZE)) {
            device.zero(1000, 300_000, ZeroFlags.PUNCH);
            device.trim(400_000, 65_536, false);
            device.zero(SIZE - 1, 1, new ZeroFlags(true, false, true));
            assertThat(firstNonZero(read(device, 0, (int) SIZE))).isEqualTo(-1);
        }
    }

    @Test
    public void extentsStartAtTheOffsetAreContiguousAndStayInRange() throws IOException {
        long size = supportsUnalignedSize() ? ODD_SIZE : SIZE;
        try (BlockDevice device = newDevice(size)) {
            if (writable()) {
                writeScatteredData(device);
            }
            long[][] ranges = {{0, size}, {0, 1}, {size - 1, 1}, {1, size - 2}, {65_535, 2}, {70_000, 12_345},
                {size - 65_537, 65_537}};
            for (long[] range : ranges) {
                assertThat(allExtents(device, range[0], range[1])).isNotEmpty();
            }
        }
    }

    @Test
    public void extentsAgreeWithTheContent() throws IOException {
        try (BlockDevice device = newDevice(SIZE)) {
            if (writable()) {
                writeScatteredData(device);
            }
            byte[] content = read(device, 0, (int) SIZE);
            for (Extent extent : allExtents(device, 0, SIZE)) {
                if (extent.zero()) {
                    int from = (int) extent.offset();
                    byte[] run = Arrays.copyOfRange(content, from, (int) extent.end());
                    assertThat(firstNonZero(run)).as("first non-zero byte in %s", extent).isEqualTo(-1);
                }
            }
        }
    }

    @Test
    public void concurrentWritesAndZeroesToDisjointRangesAreAllKept() throws Exception {
        assumeTrue(writable() && retainsWrites());
        int threads = 8;
        int chunk = 1000; // not a divisor of any page size, so neighbouring threads share pages
        int chunks = (int) (SIZE / chunk);
        try (BlockDevice device = newDevice(SIZE);
             ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                results.add(pool.submit(() -> {
                    start.await();
                    for (int round = 0; round < 3; round++) {
                        for (int k = thread; k < chunks; k += threads) {
                            write(device, (long) k * chunk, chunkData(k, chunk, round));
                            device.zero((long) k * chunk, chunk, ZeroFlags.PUNCH);
                            write(device, (long) k * chunk, Arrays.copyOf(chunkData(k, chunk, round), chunk / 2));
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> result : results) {
                result.get();
            }
            byte[] content = read(device, 0, chunks * chunk);
            for (int k = 0; k < chunks; k++) {
                byte[] expected = chunkData(k, chunk, 2);
                Arrays.fill(expected, chunk / 2, chunk, (byte) 0);
                assertThat(Arrays.copyOfRange(content, k * chunk, (k + 1) * chunk)).as("chunk %d", k)
                        .isEqualTo(expected);
            }
        }
    }

    @Test
    public void neighboursWritingAndZeroingSmallRangesNeverSeeTheirDataLost() throws Exception {
        assumeTrue(writable() && retainsWrites());
        int threads = 4;
        int slice = 997; // several threads share every block, and ranges become all zero often
        try (BlockDevice device = newDevice(SIZE);
             ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long offset = 4093 + (long) t * slice;
                byte[] data = randomBytes(slice, 100 + t);
                results.add(pool.submit(() -> {
                    start.await();
                    for (int round = 0; round < 2000; round++) {
                        write(device, offset, data);
                        assertThat(read(device, offset, slice)).as("round %d at %d", round, offset).isEqualTo(data);
                        device.zero(offset, slice, ZeroFlags.PUNCH);
                        assertThat(firstNonZero(read(device, offset, slice))).as("round %d at %d", round, offset)
                                .isEqualTo(-1);
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> result : results) {
                result.get();
            }
        }
    }

    @Test
    public void readOnlyDeviceRefusesModificationsWithEperm() throws IOException {
        assumeFalse(writable());
        try (BlockDevice device = newDevice(SIZE)) {
            byte[] before = read(device, 0, 100_000);
            assertEperm(() -> device.write(10, ByteBuffer.wrap(randomBytes(5000, 8)), false));
            assertEperm(() -> device.write(10, ByteBuffer.wrap(new byte[5000]), true));
            assertEperm(() -> device.trim(0, 100_000, false));
            assertEperm(() -> device.zero(0, 100_000, ZeroFlags.PUNCH));
            assertEperm(() -> device.zero(1, 2, new ZeroFlags(true, true, true)));
            assertThat(read(device, 0, 100_000)).isEqualTo(before);
        }
    }

    @Test
    public void operationsAfterCloseFail() throws IOException {
        BlockDevice device = newDevice(SIZE);
        device.close();
        assertThatThrownBy(() -> read(device, 0, 512)).isInstanceOf(IOException.class);
    }

    /**
     * Every extent from {@code offset} to {@code offset+length}, asking again where each answer
     * ends, after checking that each answer starts at the offset asked, is contiguous, has no
     * empty extent and stays inside the range.
     */
    protected static List<Extent> allExtents(BlockDevice device, long offset, long length) throws IOException {
        List<Extent> all = new ArrayList<>();
        long end = offset + length;
        for (long at = offset; at < end; ) {
            List<Extent> answer = device.extents(at, end - at);
            assertThat(answer).as("extents(%d, %d) of %s", at, end - at, device).isNotEmpty();
            for (Extent extent : answer) {
                assertThat(extent.offset()).as("start of %s asked from %d", extent, at).isEqualTo(at);
                assertThat(extent.length()).as("length of %s", extent).isPositive();
                assertThat(extent.end()).as("end of %s, range ending at %d", extent, end).isBetween(at + 1, end);
                at = extent.end();
            }
            all.addAll(answer);
        }
        return all;
    }

    protected static byte[] read(BlockDevice device, long offset, int length) throws IOException {
        ByteBuffer dst = ByteBuffer.allocate(length);
        device.read(offset, dst);
        return dst.array();
    }

    protected static void write(BlockDevice device, long offset, byte[] data) throws IOException {
        device.write(offset, ByteBuffer.wrap(data), false);
    }

    /** Random bytes, none of them zero, from a fixed seed varied by {@code salt}. */
    protected static byte[] randomBytes(int length, int salt) {
        byte[] data = new byte[length];
        new Random(SEED + salt).nextBytes(data);
        for (int i = 0; i < length; i++) {
            data[i] |= 1;
        }
        return data;
    }

    /** The index of the first non-zero byte, or -1. */
    protected static int firstNonZero(byte[] data) {
        return Arrays.mismatch(data, new byte[data.length]);
    }

    private static byte[] chunkData(int chunkIndex, int length, int round) {
        return randomBytes(length, 1_000_000 * (round + 1) + chunkIndex);
    }

    /** Writes data at awkward places and zeroes part of it, leaving holes between. */
    private static void writeScatteredData(BlockDevice device) throws IOException {
        write(device, 1, randomBytes(10, 9));
        write(device, 65_530, randomBytes(20, 10));
        write(device, 200_000, randomBytes(150_000, 11));
        device.zero(250_000, 70_000, ZeroFlags.PUNCH);
        write(device, 500_000, new byte[70_000]);
        write(device, SIZE - 3, randomBytes(3, 12));
    }

    private static void assertNeighbourhood(BlockDevice device, byte[] model, long offset, long length)
            throws IOException {
        int from = (int) Math.max(0, offset - NEIGHBOURHOOD);
        int to = (int) Math.min(model.length, offset + length + NEIGHBOURHOOD);
        assertThat(read(device, from, to - from)).as("bytes %d to %d after changing %d+%d", from, to, offset, length)
                .isEqualTo(Arrays.copyOfRange(model, from, to));
    }

    private static void assertEperm(ThrowingCallable call) {
        Throwable thrown = catchThrowable(call);
        assertThat(thrown).isInstanceOf(RequestException.class);
        assertThat(((BlockException) thrown).errno()).isEqualTo(Errno.EPERM);
    }

    private static void fill(ByteBuffer buffer, byte value) {
        while (buffer.hasRemaining()) {
            buffer.put(value);
        }
        buffer.clear();
    }
}
