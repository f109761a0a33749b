package dev.sprout.tool;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.block.ForwardingBlockDevice;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** How a copy's work is cut: chunk boundaries, block alignment, zero ranges, asking for extents. */
class CopyChunksTest {

    private static final int KiB = 1024;
    private static final int MiB = 1 << 20;

    /** A source that reports the given extents, at most {@code perAnswer} at a time, and counts the questions. */
    private static final class Reported extends ForwardingBlockDevice {
        private final List<Extent> extents;
        private final int perAnswer;
        int questions;

        Reported(long size, int perAnswer, Extent... extents) {
            super(MemoryBlockDevice.create(size));
            this.extents = List.of(extents);
            this.perAnswer = perAnswer;
        }

        @Override
        public List<Extent> extents(long offset, long length) {
            questions++;
            return extents.stream().filter(e -> e.end() > offset).limit(perAnswer)
                    .map(e -> e.withRange(Math.max(e.offset(), offset), e.end() - Math.max(e.offset(), offset))).toList();
        }
    }

    /** Every piece left, in the order handed out: "data OFFSET+LENGTH" or "zero OFFSET+LENGTH". */
    private static List<String> drain(CopyChunks chunks) throws Exception {
        List<String> out = new ArrayList<>();
        for (CopyChunks.Piece piece; (piece = chunks.next()) != null; ) {
            out.add(switch (piece) {
                case CopyChunks.Chunk c -> "data " + c.offset() + "+" + c.length();
                case CopyChunks.Zeroes z -> "zero " + z.offset() + "+" + z.length();
                case CopyChunks.ExtentsNeeded e -> throw new AssertionError("next() handed out " + e);
            });
        }
        return out;
    }

    @Test
    void dataIsCutAtMultiplesOfTheChunkSizeAndGrownToWholeBlocks() throws Exception {
        Reported source = new Reported(8 * MiB, 100,
                new Extent(0, 4 * KiB + 100, true, true), Extent.data(4 * KiB + 100, 3 * MiB), new Extent(3 * MiB + 4 * KiB + 100, 5 * MiB - 4 * KiB - 100, true, true));
        CopyChunks chunks = new CopyChunks(source, 4 * KiB, MiB);
        // The data from 4 KiB + 100 grows down to 4 KiB and up to 3 MiB + 8 KiB; the cuts fall on whole MiB.
        // The zero ranges shrink to whole blocks and skip what the data took.
        assertThat(drain(chunks)).containsExactly("zero 0+" + 4 * KiB,
                "data " + 4 * KiB + "+" + (MiB - 4 * KiB), "data " + MiB + "+" + MiB, "data " + 2 * MiB + "+" + MiB,
                "data " + 3 * MiB + "+" + 8 * KiB, "zero " + (3 * MiB + 8 * KiB) + "+" + (5 * MiB - 8 * KiB));
    }

    @Test
    void extentsAreAskedForAgainWhereAnAnswerEndedAndNeverWithoutWaiting() throws Exception {
        Extent[] striped = new Extent[8];
        for (int i = 0; i < striped.length; i++) {
            striped[i] = i % 2 == 0 ? Extent.data(i * 64L * KiB, 64 * KiB) : new Extent(i * 64L * KiB, 64 * KiB, true, true);
        }
        Reported source = new Reported(512 * KiB, 3, striped);
        CopyChunks chunks = new CopyChunks(source, 512, MiB);
        assertThat(chunks.nextWithoutWaiting()).isSameAs(CopyChunks.EXTENTS_NEEDED);
        assertThat(source.questions).isZero();
        assertThat(chunks.next()).isEqualTo(new CopyChunks.Chunk(0, 64 * KiB));
        assertThat(chunks.nextWithoutWaiting()).isEqualTo(new CopyChunks.Zeroes(64 * KiB, 64 * KiB));
        assertThat(chunks.nextWithoutWaiting()).isEqualTo(new CopyChunks.Chunk(128 * KiB, 64 * KiB));
        assertThat(chunks.nextWithoutWaiting()).isSameAs(CopyChunks.EXTENTS_NEEDED); // the first 3 extents are used up
        assertThat(source.questions).isEqualTo(1);
        assertThat(drain(chunks)).containsExactly("zero " + 192 * KiB + "+" + 64 * KiB, "data " + 256 * KiB + "+" + 64 * KiB,
                "zero " + 320 * KiB + "+" + 64 * KiB, "data " + 384 * KiB + "+" + 64 * KiB, "zero " + 448 * KiB + "+" + 64 * KiB);
        assertThat(source.questions).isEqualTo(3);
        assertThat(chunks.nextWithoutWaiting()).isNull();
    }

    @Test
    void aChunkSizeThatIsNotAPowerOfTwoIsRefused() {
        BlockDevice source = MemoryBlockDevice.create(MiB);
        assertThatThrownBy(() -> new CopyChunks(source, 512, 3 * MiB))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
