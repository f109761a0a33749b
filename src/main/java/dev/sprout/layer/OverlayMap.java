package dev.sprout.layer;

import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The blocks of a copy-on-write overlay: where each reads from, two bits per block in chunks of
 * 2048 blocks that exist only once one of their blocks changed (a device of 2^63 bytes costs
 * nothing until written, and untouched runs are skipped a chunk at a time), and the striped locks
 * that serialize changes to one block.
 *
 * <p>Each update is atomic (a compare-and-set on the word holding the block); callers hold the
 * block's {@link #lock} while they change it. A block never returns to {@link State#LOWER}.
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
    private static final int LOCK_STRIPES = 1024;

    /** The device size. */
    private final long size;
    /** log2 of the block size. */
    private final int shift;
    /** The chunks by index (block >>> CHUNK_SHIFT); a missing chunk is all {@link State#LOWER}. */
    private final ConcurrentSkipListMap<Long, AtomicLongArray> chunks = new ConcurrentSkipListMap<>();
    /** Serialize changes to one block; indexed by block number modulo their count. */
    private final Object[] locks = new Object[LOCK_STRIPES];

    /** The map of a device of {@code size} bytes in blocks of {@code blockSize} (a power of two). */
    OverlayMap(long size, int blockSize) {
        this.size = size;
        this.shift = Integer.numberOfTrailingZeros(blockSize);
        for (int i = 0; i < LOCK_STRIPES; i++) {
            locks[i] = new Object();
        }
    }

    /** The block holding byte {@code offset}. */
    long block(long offset) {
        return offset >>> shift;
    }

    long start(long block) {
        return block << shift;
    }

    /** The end of a block: the next block's start, or the device's end for the last one. */
    long end(long block) {
        return start(block) + Math.min(1L << shift, size - start(block));
    }

    /** Whether {@code [at, at+length)} is the whole of its block. */
    boolean covers(long at, long length) {
        long block = block(at);
        return at == start(block) && at + length == end(block);
    }

    Object lock(long block) {
        return locks[(int) (block & (LOCK_STRIPES - 1))];
    }

    /** Where the run of blocks in {@code state} from the one holding {@code at} ends, at most {@code end}. */
    long runEnd(long at, long end, State state) {
        long last = block(end - 1);
        long block = runEndBlock(block(at), last + 1, state);
        return block > last ? end : start(block);
    }

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
    private long runEndBlock(long from, long to, State state) {
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
