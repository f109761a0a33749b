package dev.sprout.tool;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.backend.MemoryBlockDevice;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * {@link Compare#firstDifference} agrees with a byte-by-byte comparison of two models over random
 * devices that span several of its chunks: data, written zeroes and holes on either side, and
 * sizes that differ (the shorter side reads as zeroes past its end).
 */
class ComparePropertiesTest {

    private static final int KiB = 1024;

    /** One change to a device: data (seeded bytes), written zeroes, or a trim back to a hole. */
    record Change(int kind, int offset, int length, long seed) {
    }

    @Property(tries = 60)
    void findsTheFirstByteWhereTheModelsDiffer(@ForAll @IntRange(min = 1, max = 3200) int sizeAKiB,
                                               @ForAll @IntRange(min = 1, max = 3200) int sizeBKiB,
                                               @ForAll @Size(max = 10) List<@From("changes") Change> changes,
                                               @ForAll @Size(max = 4) List<@From("changes") Change> differences)
            throws Exception {
        int sizeA = sizeAKiB * KiB;
        int sizeB = sizeBKiB * KiB;
        byte[] modelA = new byte[sizeA];
        byte[] modelB = new byte[sizeB];
        try (MemoryBlockDevice a = MemoryBlockDevice.create(sizeA); MemoryBlockDevice b = MemoryBlockDevice.create(sizeB)) {
            for (Change change : changes) { // the same on both sides
                apply(a, modelA, change);
                apply(b, modelB, change);
            }
            for (Change change : differences) {
                apply(b, modelB, change);
            }
            assertThat(Compare.firstDifference(a, b)).isEqualTo(firstDifference(modelA, modelB));
            assertThat(Compare.firstDifference(b, a)).isEqualTo(firstDifference(modelA, modelB));
        }
    }

    @Provide
    Arbitrary<Change> changes() {
        return Combinators.combine(Arbitraries.integers().between(0, 2), Arbitraries.integers().between(0, 3200 * KiB),
                Arbitraries.integers().between(1, 1500 * KiB), Arbitraries.longs()).as(Change::new);
    }

    private static void apply(MemoryBlockDevice device, byte[] model, Change change) throws Exception {
        int offset = Math.min(change.offset(), model.length - 1);
        int length = Math.min(change.length(), model.length - offset);
        byte[] bytes = new byte[length];
        switch (change.kind()) {
            case 0 -> {
                new Random(change.seed()).nextBytes(bytes);
                device.write(offset, ByteBuffer.wrap(bytes), false);
            }
            case 1 -> device.write(offset, ByteBuffer.wrap(bytes), false);
            default -> device.trim(offset, length, false);
        }
        System.arraycopy(bytes, 0, model, offset, length);
    }

    /** The first index where the models differ, each read as zeroes past its end. */
    private static OptionalLong firstDifference(byte[] a, byte[] b) {
        int common = Math.min(a.length, b.length);
        int at = Arrays.mismatch(a, 0, common, b, 0, common);
        if (at >= 0) {
            return OptionalLong.of(at);
        }
        byte[] longer = a.length > b.length ? a : b;
        for (int i = common; i < longer.length; i++) {
            if (longer[i] != 0) {
                return OptionalLong.of(i);
            }
        }
        return OptionalLong.empty();
    }
}
