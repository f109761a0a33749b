package dev.sprout.layer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Extent;
import dev.sprout.block.ZeroFlags;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * Random sequences of writes, zeroes, trims, flushes, FUA requests and power cuts on the crash
 * layer, against two byte arrays: what the client sees and what is durable. After every step
 * the layer reads as the first and its extents agree with it; after a flush the device below
 * holds exactly the first, and with a cache that never fills nothing else ever reaches it; after
 * a cut the layer reads as the device below did.
 */
class CrashSimulatingDevicePropertiesTest {

    private static final int SIZE = 256 << 10;
    /** A cache limit no sequence reaches: then nothing goes below without a flush. */
    private static final int NEVER_FULL = 1 << 30;

    enum Kind { WRITE, FUA_WRITE, ZERO, PUNCH, TRIM, FLUSH, CUT }

    record Op(Kind kind, int offset, int length, int seed) {
    }

    @Property(tries = 200)
    void readsFollowTheClientAndCutsRestoreTheDurableState(@ForAll("ops") List<Op> ops,
                                                            @ForAll("maxPending") int maxPending) throws IOException {
        Path trigger = Files.createTempFile("crash-property", ".trigger");
        Files.delete(trigger);
        byte[] seen = new byte[SIZE];
        byte[] durable = new byte[SIZE];
        MemoryBlockDevice below = MemoryBlockDevice.create(SIZE);
        try (BlockDevice device = LayerCatalog.wrap("crash:trigger=" + trigger + ",max-pending=" + maxPending, below)) {
            for (Op op : ops) {
                int end = op.offset() + op.length();
                switch (op.kind()) {
                    case WRITE, FUA_WRITE -> {
                        byte[] data = new byte[op.length()];
                        new Random(op.seed()).nextBytes(data);
                        device.write(op.offset(), ByteBuffer.wrap(data), op.kind() == Kind.FUA_WRITE);
                        System.arraycopy(data, 0, seen, op.offset(), op.length());
                    }
                    case ZERO -> {
                        device.zero(op.offset(), op.length(), new ZeroFlags(true, false, op.seed() % 2 == 0));
                        Arrays.fill(seen, op.offset(), end, (byte) 0);
                    }
                    case PUNCH -> {
                        device.zero(op.offset(), op.length(), ZeroFlags.PUNCH);
                        Arrays.fill(seen, op.offset(), end, (byte) 0);
                    }
                    case TRIM -> {
                        device.trim(op.offset(), op.length(), false);
                        Arrays.fill(seen, op.offset(), end, (byte) 0);
                    }
                    case FLUSH -> device.flush();
                    case CUT -> {
                        byte[] belowBefore = read(below, 0, SIZE);
                        Files.createFile(trigger);
                        assertThat(catchThrowable(() -> device.flush())).isInstanceOf(DeviceException.class);
                        Files.delete(trigger);
                        System.arraycopy(belowBefore, 0, seen, 0, SIZE);
                        System.arraycopy(belowBefore, 0, durable, 0, SIZE);
                    }
                }
                boolean flushed = op.kind() == Kind.FLUSH || op.kind() == Kind.FUA_WRITE
                        || op.kind() == Kind.ZERO && op.seed() % 2 == 0;
                if (flushed) {
                    System.arraycopy(seen, 0, durable, 0, SIZE);
                }
                if (flushed || maxPending == NEVER_FULL) {
                    assertThat(read(below, 0, SIZE)).as("below after %s", op).isEqualTo(durable);
                }
                assertThat(read(device, 0, SIZE)).as("after %s", op).isEqualTo(seen);
                assertExtentsAgree(device, seen, op);
            }
        }
    }

    @Provide
    Arbitrary<Integer> maxPending() {
        return Arbitraries.of(1, 4096, 100_000, NEVER_FULL);
    }

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Op> op = Combinators.combine(
                Arbitraries.frequencyOf(
                        Tuple.of(6, Arbitraries.just(Kind.WRITE)),
                        Tuple.of(1, Arbitraries.just(Kind.FUA_WRITE)),
                        Tuple.of(2, Arbitraries.just(Kind.ZERO)),
                        Tuple.of(2, Arbitraries.just(Kind.PUNCH)),
                        Tuple.of(2, Arbitraries.just(Kind.TRIM)),
                        Tuple.of(2, Arbitraries.just(Kind.FLUSH)),
                        Tuple.of(1, Arbitraries.just(Kind.CUT))),
                Arbitraries.integers().between(0, SIZE - 1),
                Arbitraries.integers().between(1, 70_000),
                Arbitraries.integers().between(0, 1000))
                .as((kind, offset, length, seed) -> new Op(kind, offset, Math.min(length, SIZE - offset), seed));
        return op.list().ofMaxSize(30);
    }

    private static void assertExtentsAgree(BlockDevice device, byte[] content, Op after) throws IOException {
        for (long at = 0; at < SIZE; ) {
            List<Extent> extents = device.extents(at, SIZE - at);
            assertThat(extents).isNotEmpty();
            for (Extent extent : extents) {
                assertThat(extent.offset()).as("extent start after %s", after).isEqualTo(at);
                if (extent.zero()) {
                    byte[] run = Arrays.copyOfRange(content, (int) extent.offset(), (int) extent.end());
                    assertThat(Arrays.mismatch(run, new byte[run.length])).as("first non-zero byte of %s after %s", extent, after)
                            .isEqualTo(-1);
                }
                at = extent.end();
            }
        }
    }

    private static byte[] read(BlockDevice device, long offset, int length) throws IOException {
        ByteBuffer dst = ByteBuffer.allocate(length);
        device.read(offset, dst);
        return dst.array();
    }
}
