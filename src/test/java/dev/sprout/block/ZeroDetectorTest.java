package dev.sprout.block;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class ZeroDetectorTest {

    /** A range with one non-zero byte anywhere in it, or none, in a direct or a heap buffer, at any offset and length. */
    @Property(tries = 2000)
    void findsTheOneNonZeroByteWhereverItIs(@ForAll @IntRange(max = 70_000) int from,
                                            @ForAll @IntRange(max = 70_000) int length,
                                            @ForAll @IntRange(min = -1, max = 70_000) int marked,
                                            @ForAll @IntRange(min = 1, max = 255) int value,
                                            @ForAll boolean direct) {
        int size = from + length + 16;
        ByteBuffer buffer = direct ? ByteBuffer.allocateDirect(size) : ByteBuffer.allocate(size);
        int at = marked < 0 ? -1 : from + marked % (length + 1);
        if (at >= 0 && at < from + length) {
            buffer.put(at, (byte) value);
        }
        // bytes just outside the range never count
        if (from > 0) {
            buffer.put(from - 1, (byte) 0xff);
        }
        buffer.put(from + length, (byte) 0xff);

        boolean expected = at < 0 || at >= from + length;
        assertThat(ZeroDetector.isZero(buffer, from, from + length)).isEqualTo(expected);
    }

    @Test
    void aRangeThatRepeatsEveryEightBytesIsNotZero() {
        ByteBuffer buffer = ByteBuffer.allocateDirect(64 * 1024);
        for (int i = 0; i < buffer.capacity(); i++) {
            buffer.put(i, (byte) (i % 8 == 7 ? 1 : 0));
        }
        assertThat(ZeroDetector.isZero(buffer, 0, buffer.capacity())).isFalse();
        assertThat(ZeroDetector.isZero(buffer, 0, 7)).isTrue();
        assertThat(ZeroDetector.isZero(buffer, 8, 15)).isTrue();
    }

    @Test
    void anEmptyRangeIsZeroAndPositionAndLimitAreIgnored() {
        ByteBuffer buffer = ByteBuffer.allocateDirect(4096);
        buffer.put(100, (byte) 1).position(200).limit(300);
        assertThat(ZeroDetector.isZero(buffer, 50, 50)).isTrue();
        assertThat(ZeroDetector.isZero(buffer, 0, 4096)).isFalse();
        assertThat(ZeroDetector.isZero(buffer, 101, 4096)).isTrue();
        assertThat(buffer.position()).isEqualTo(200);
        assertThat(buffer.limit()).isEqualTo(300);
    }
}
