package dev.sprout.layer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.block.ZeroFlags;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Random writes, zeroes and trims at unaligned offsets on an overlay over random lower content
 * (with holes), checked against a byte array after every step; the lower device must be
 * unchanged at the end and the extents must agree with the content.
 */
class CopyOnWritePropertiesTest {

    @Property(tries = 250)
    void overlayMatchesAByteArrayAndNeverChangesTheLowerDevice(@ForAll("scenarios") Scenario scenario)
            throws IOException {
        byte[] base = scenario.lowerContent();
        MemoryBlockDevice memory = MemoryBlockDevice.create(scenario.size());
        memory.write(0, ByteBuffer.wrap(base), false);
        byte[] model = base.clone();
        try (BlockDevice device = LayerCatalog.wrap("cow:block=" + scenario.block(), new ReadOnlyDevice(memory))) {
            for (Op op : scenario.ops()) {
                apply(device, model, op, scenario.size());
                assertThat(read(device, 0, scenario.size())).as("content after %s", op).isEqualTo(model);
            }
            long covered = 0;
            for (Extent extent : device.extents(0, scenario.size())) {
                assertThat(extent.offset()).isEqualTo(covered);
                if (extent.zero()) {
                    int from = (int) extent.offset();
                    byte[] run = Arrays.copyOfRange(model, from, (int) extent.end());
                    assertThat(run).as("bytes of %s", extent).containsOnly(0);
                }
                covered = extent.end();
            }
            assertThat(covered).isEqualTo(scenario.size());
            assertThat(read(memory, 0, scenario.size())).as("the lower device").isEqualTo(base);
        }
    }

    private static void apply(BlockDevice device, byte[] model, Op op, int size) throws IOException {
        int length = Math.min(op.length(), size - op.start());
        switch (op.kind()) {
            case WRITE -> {
                byte[] data = new byte[length];
                new Random(op.seed()).nextBytes(data);
                device.write(op.start(), ByteBuffer.wrap(data), false);
                System.arraycopy(data, 0, model, op.start(), length);
            }
            case WRITE_ZEROES -> {
                device.write(op.start(), ByteBuffer.wrap(new byte[length]), op.seed() % 2 == 0);
                Arrays.fill(model, op.start(), op.start() + length, (byte) 0);
            }
            case ZERO -> {
                device.zero(op.start(), length, new ZeroFlags(op.seed() % 2 == 0, op.seed() % 3 == 0, false));
                Arrays.fill(model, op.start(), op.start() + length, (byte) 0);
            }
            case TRIM -> {
                device.trim(op.start(), length, false);
                // A trimmed byte reads as zero or as before; the model takes whichever the device chose.
                byte[] after = read(device, op.start(), length);
                for (int i = 0; i < length; i++) {
                    byte before = model[op.start() + i];
                    assertThat(after[i]).as("trimmed byte %d of %s", i, op).isIn((byte) 0, before);
                    model[op.start() + i] = after[i];
                }
            }
        }
    }

    private static byte[] read(BlockDevice device, int offset, int length) throws IOException {
        ByteBuffer dst = ByteBuffer.allocate(length);
        device.read(offset, dst);
        return dst.array();
    }

    @Provide
    Arbitrary<Scenario> scenarios() {
        Arbitrary<Integer> sizes = Arbitraries.oneOf(
                Arbitraries.integers().between(1, 200_000),
                Arbitraries.of(512, 4096, 65_536, 131_072 + 1));
        return sizes.flatMap(size -> Combinators.combine(
                Arbitraries.of(512, 4096, 65_536), Arbitraries.longs(), op(size).list().ofMinSize(1).ofMaxSize(30))
                .as((block, seed, ops) -> new Scenario(size, block, seed, ops)));
    }

    private static Arbitrary<Op> op(int size) {
        Arbitrary<Integer> start = Arbitraries.oneOf(
                Arbitraries.integers().between(0, size - 1),
                Combinators.combine(Arbitraries.integers().between(0, size / 512), Arbitraries.integers().between(-2, 2))
                        .as((sector, delta) -> Math.clamp(sector * 512L + delta, 0, size - 1)));
        Arbitrary<Integer> length = Arbitraries.oneOf(
                Arbitraries.integers().between(1, 16),
                Arbitraries.integers().between(1, 140_000),
                Arbitraries.of(512, 4096, 65_536, 65_535, 65_537));
        return Combinators.combine(Arbitraries.of(Kind.class), start, length, Arbitraries.integers().between(0, 1 << 20))
                .as(Op::new);
    }

    enum Kind { WRITE, WRITE_ZEROES, ZERO, TRIM }

    /** One operation; its length is clipped to the device. */
    record Op(Kind kind, int start, int length, int seed) {
    }

    /** A device of {@code size} bytes whose lower content derives from {@code seed}, and what to do to it. */
    record Scenario(int size, int block, long seed, List<Op> ops) {

        /** Random bytes with runs of zeroes, so the lower device has holes as well as data. */
        byte[] lowerContent() {
            Random random = new Random(seed);
            byte[] content = new byte[size];
            random.nextBytes(content);
            for (int run = 0; run < 4; run++) {
                int from = random.nextInt(size);
                int to = Math.min(size, from + random.nextInt(150_000));
                Arrays.fill(content, from, to, (byte) 0);
            }
            return content;
        }
    }
}
