package dev.sprout.block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class PageAlignedBufferTest {

    @Property(tries = 200)
    void startsOnAPageAndHoldsExactlyTheSizeAsked(@ForAll @IntRange(max = 3 << 20) int size) {
        ByteBuffer buffer = PageAlignedBuffer.allocate(size);
        assertThat(buffer.isDirect()).isTrue();
        assertThat(MemorySegment.ofBuffer(buffer).address() % PageAlignedBuffer.PAGE).isZero();
        assertThat(buffer.position()).isZero();
        assertThat(buffer.capacity()).isEqualTo(size);
        assertThat(buffer.limit()).isEqualTo(size);
    }

    @Test
    void buffersNeverShareBytes() {
        ByteBuffer a = PageAlignedBuffer.allocate(8192);
        ByteBuffer b = PageAlignedBuffer.allocate(8192);
        for (int i = 0; i < 8192; i++) {
            a.put(i, (byte) 1);
        }
        for (int i = 0; i < 8192; i++) {
            b.put(i, (byte) 2);
        }
        for (int i = 0; i < 8192; i++) {
            assertThat(a.get(i)).isEqualTo((byte) 1);
        }
    }

    @Test
    void refusesNegativeAndHugeSizes() {
        assertThatThrownBy(() -> PageAlignedBuffer.allocate(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-1 bytes");
        assertThatThrownBy(() -> PageAlignedBuffer.allocate(Integer.MAX_VALUE))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
