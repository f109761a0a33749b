package dev.sprout.layer;

import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Where each block of a copy-on-write overlay reads from: two bits per block, in chunks of 2048
 * blocks that exist only once one of their blocks changed, so a device of 2^63 bytes costs
 * nothing until it is written and runs of untouched blocks are skipped a chunk at a time.
 *
 * <p>Each update is atomic (a compare-and-set on the word holding the block); callers serialize
 * the updates of one block themselves. A block never returns to {@link State#LOWER}.
 */
final class OverlayMap {

    /** Where a block's bytes are; the ordinal is the two bits stored. */
    enum State {
        /** Untouched: the device below holds the block. */
        LOWER,
        /** The overlay store holds the whole block. */
        DATA,
        /** The block reads as zeroes (and the store holds zeroes there). */
        ZERO
    }

    private static final State[] STATES = State.values();
    /** log2 of the blocks in a chunk: 64 words of 32 blocks. */
    private static final int CHUNK_SHIFT = 11;
    private static final int WORDS_PER_CHUNK = 64;
    /** A word whose 32 blocks all have the state of that ordinal. */
    private static final long[] UNIFORM = {0L, 0x5555_5555_5555_5555L, 0xaaaa_aaaa_aaaa_aaaaL};

    /** The chunks by index (block >>> CHUNK_SHIFT); a missing chunk is all {@link State#LOWER}. */
    private final ConcurrentSkipListMap<Long, AtomicLongArray> chunks = new ConcurrentSkipListMap<>();

    State get(long block) {
        AtomicLongArray chunk = chunks.get(block >>> CHUNK_SHIFT);
        return chunk == null ? State.LOWER : STATES[(int) (chunk.get(word(block)) >>> bit(block)) & 3];
    }

    void set(long block, State state) {
        AtomicLongArray chunk = chunks.computeIfAbsent(block >>> CHUNK_SHIFT,
                index -> new AtomicLongArray(WORDS_PER_CHUNK));
        long mask = 3L << bit(block);
        long bits = (long) state.ordinal() << bit(block);
        chunk.getAndUpdate(word(block), w -> w & ~mask | bits);
    }

    /** The first block after {@code from} and before {@code to} not in {@code state}, else {@code to}. */
    long runEnd(long from, long to, State state) {
        long block = from + 1;
        while (block < to) {
            long index = block >>> CHUNK_SHIFT;
            AtomicLongArray chunk = chunks.get(index);
            if (chunk == null) {
                if (state != State.LOWER) {
                    return block;
                }
                Long next = chunks.higherKey(index);
                if (next == null) {
                    return to;
                }
                block = next << CHUNK_SHIFT;
                continue;
            }
            long word = chunk.get(word(block));
            if ((block & 31) == 0 && word == UNIFORM[state.ordinal()]) {
                block += 32;
            } else if (STATES[(int) (word >>> bit(block)) & 3] != state) {
                return block;
            } else {
                block++;
            }
        }
        return to;
    }

    private static int word(long block) {
        return (int) (block >>> 5) & (WORDS_PER_CHUNK - 1);
    }

    private static int bit(long block) {
        return (int) (block & 31) * 2;
    }
}
