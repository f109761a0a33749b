package dev.sprout.bench;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.Extent;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * {@link MemoryBlockDevice}: reads and writes through its sparse page map, allocating and freeing
 * pages, and the extent walk behind BLOCK_STATUS.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class MemoryBlockDeviceBench {

    static final long MiB = 1 << 20;
    static final long GiB = 1L << 30;
    static final long SEVEN_EIB = 7L << 60;
    /** The window a 32-bit BLOCK_STATUS request covers at most (4K-aligned). */
    static final long WINDOW = 0xFFFF_F000L;

    /** A 1 GiB device whose first 256 MiB hold data; the rest is holes. */
    @State(Scope.Benchmark)
    public static class Filled {
        static final long DATA = 256 * MiB;

        @Param({"4096", "1048576"})
        int blockSize;

        MemoryBlockDevice device;
        long[] dataOffsets;
        long[] holeOffsets;

        @Setup(Level.Trial)
        public void setup() throws IOException {
            device = MemoryBlockDevice.create(GiB);
            ByteBuffer chunk = randomDirect((int) MiB, 1);
            for (long at = 0; at < DATA; at += MiB) {
                device.write(at, chunk.clear(), false);
            }
            SplittableRandom random = new SplittableRandom(2);
            dataOffsets = new long[4096];
            holeOffsets = new long[4096];
            for (int i = 0; i < dataOffsets.length; i++) {
                dataOffsets[i] = random.nextLong(DATA / blockSize) * blockSize;
                holeOffsets[i] = DATA + random.nextLong((GiB - DATA) / blockSize) * blockSize;
            }
        }

        @TearDown(Level.Trial)
        public void close() {
            device.close();
        }
    }

    /** A 7 EiB device with 1000 scattered 4 KiB blocks written, as in bench/run's BLOCK_STATUS figure. */
    @State(Scope.Benchmark)
    public static class Scattered {
        MemoryBlockDevice device;
        long[] blocks;
        long[] emptyWindows;

        @Setup(Level.Trial)
        public void setup() throws IOException {
            device = MemoryBlockDevice.create(SEVEN_EIB);
            ByteBuffer block = randomDirect(4096, 3);
            SplittableRandom random = new SplittableRandom(5);
            blocks = new long[1000];
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = random.nextLong(SEVEN_EIB / 4096) * 4096;
                device.write(blocks[i], block.clear(), false);
            }
            // Windows far from any block: 7E / 1000 blocks leaves ~7 PiB between neighbours on average.
            emptyWindows = new long[1000];
            for (int i = 0; i < emptyWindows.length; i++) {
                emptyWindows[i] = (blocks[i] + (1L << 50)) & ~4095L;
                if (emptyWindows[i] > SEVEN_EIB - WINDOW || emptyWindows[i] < 0) {
                    emptyWindows[i] = blocks[i] - (1L << 50) & ~4095L;
                }
            }
        }

        @TearDown(Level.Trial)
        public void close() {
            device.close();
        }
    }

    /** Per-thread buffers and a cursor through the offset tables. */
    @State(Scope.Thread)
    public static class Cursor {
        ByteBuffer data;
        ByteBuffer into;
        SplittableRandom random;
        int next;

        @Setup(Level.Trial)
        public void setup() {
            data = randomDirect((int) MiB, 7);
            into = ByteBuffer.allocateDirect((int) MiB);
            random = new SplittableRandom(11);
        }

        int next(int mask) {
            return next++ & mask;
        }
    }

    @Benchmark
    public ByteBuffer readData(Filled f, Cursor c) throws IOException {
        ByteBuffer dst = c.into.clear().limit(f.blockSize);
        f.device.read(f.dataOffsets[c.next(4095)], dst);
        return dst;
    }

    @Benchmark
    public ByteBuffer readHole(Filled f, Cursor c) throws IOException {
        ByteBuffer dst = c.into.clear().limit(f.blockSize);
        f.device.read(f.holeOffsets[c.next(4095)], dst);
        return dst;
    }

    /** Overwrites pages that exist: map lookup, page lock, copy. */
    @Benchmark
    public void overwrite(Filled f, Cursor c) throws IOException {
        f.device.write(f.dataOffsets[c.next(4095)], c.data.clear().limit(f.blockSize), false);
    }

    /** Writes a 4 KiB block at a fresh place in 7 EiB, then trims it: a page allocated, mapped and freed. */
    @Benchmark
    public void allocateAndFree4k(Scattered s, Cursor c) throws IOException {
        long at = (c.random.nextLong(SEVEN_EIB / 4096) * 4096);
        s.device.write(at, c.data.clear().limit(4096), false);
        s.device.trim(at, 4096, false);
    }

    /** The extents of a 4 GiB window centred on a written block (hole, data, hole). */
    @Benchmark
    public List<Extent> extentsAroundBlock(Scattered s, Cursor c) throws IOException {
        long block = s.blocks[c.next(1023) % s.blocks.length];
        long start = Math.max(0, block - WINDOW / 2 & ~4095L);
        return s.device.extents(start, Math.min(WINDOW, SEVEN_EIB - start));
    }

    /** The extents of a 4 GiB window with nothing written in it. */
    @Benchmark
    public List<Extent> extentsEmptyWindow(Scattered s, Cursor c) throws IOException {
        long start = s.emptyWindows[c.next(1023) % s.emptyWindows.length];
        return s.device.extents(start, WINDOW);
    }

    static ByteBuffer randomDirect(int size, long seed) {
        byte[] bytes = new byte[size];
        new SplittableRandom(seed).nextBytes(bytes);
        for (int i = 0; i < size; i += 512) {
            bytes[i] |= 1;  // never an all-zero block: the device would drop it
        }
        return ByteBuffer.allocateDirect(size).put(bytes).flip();
    }
}
