package dev.sprout.layer;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A log-linear histogram of non-negative values (latencies in nanoseconds), in the manner of
 * HdrHistogram: values below 64 have a bucket each, above that every power of two is split into
 * 32 equal buckets, so a bucket's width is at most 1/32 of the values it holds. Recording is
 * lock-free; 1,888 buckets cover every long.
 */
final class LatencyHistogram {

    /** log2 of the buckets per power of two. */
    private static final int SUB_BITS = 5;
    private static final int SUB = 1 << SUB_BITS;
    private static final int BUCKETS = SUB + (63 - SUB_BITS) * SUB;

    /** How many recorded values fell in each bucket. */
    private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);
    /** The largest value recorded, exactly. */
    private final AtomicLong max = new AtomicLong();

    /** Records {@code value}; negative values count as 0. */
    void record(long value) {
        long v = Math.max(0, value);
        counts.incrementAndGet(bucket(v));
        max.accumulateAndGet(v, Math::max);
    }

    long max() {
        return max.get();
    }

    /**
     * The value at quantile {@code q} (0 < q <= 1) by nearest rank: the smallest recorded value
     * with at least {@code q} of all values at or below it, reported as the highest value its
     * bucket holds (never above {@link #max}), so it is at least the true value and at most 1/32
     * above it. 0 when nothing was recorded.
     */
    long valueAt(double q) {
        long[] snapshot = new long[BUCKETS];
        long total = 0;
        for (int i = 0; i < BUCKETS; i++) {
            snapshot[i] = counts.get(i);
            total += snapshot[i];
        }
        if (total == 0) {
            return 0;
        }
        long rank = Math.max(1, (long) Math.ceil(q * total));
        long seen = 0;
        int i = 0;
        while (i < BUCKETS - 1 && (seen += snapshot[i]) < rank) {
            i++;
        }
        return Math.min(highest(i), max());
    }

    static int bucket(long value) {
        if (value < SUB) {
            return (int) value;
        }
        int shift = 63 - Long.numberOfLeadingZeros(value) - SUB_BITS;
        return SUB + shift * SUB + (int) ((value >>> shift) - SUB);
    }

    /** The largest value that falls in {@code bucket}. */
    static long highest(int bucket) {
        if (bucket < SUB) {
            return bucket;
        }
        int shift = (bucket - SUB) / SUB;
        long sub = (bucket - SUB) % SUB;
        return ((SUB + sub + 1) << shift) - 1; // wraps to Long.MAX_VALUE for the last bucket
    }
}
