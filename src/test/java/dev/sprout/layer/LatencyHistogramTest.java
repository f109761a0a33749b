package dev.sprout.layer;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class LatencyHistogramTest {

    @Property
    void everyValueLandsInABucketAtMostOneThirtySecondWide(@ForAll @LongRange(min = 0, max = Long.MAX_VALUE) long value) {
        int bucket = LatencyHistogram.bucket(value);
        long highest = LatencyHistogram.highest(bucket);
        assertThat(highest).isGreaterThanOrEqualTo(value);
        assertThat(highest - value).isLessThanOrEqualTo(value / 32);
        if (bucket > 0) {
            assertThat(LatencyHistogram.highest(bucket - 1)).isLessThan(value);
        }
    }

    @Test
    void bucketsAreExactBelowSixtyFourAndCoverEveryLong() {
        for (long v = 0; v < 64; v++) {
            assertThat(LatencyHistogram.highest(LatencyHistogram.bucket(v))).isEqualTo(v);
        }
        assertThat(LatencyHistogram.highest(LatencyHistogram.bucket(Long.MAX_VALUE))).isEqualTo(Long.MAX_VALUE);
        assertThat(LatencyHistogram.bucket(Long.MAX_VALUE)).isEqualTo(1887);
    }

    @Test
    void emptyHistogramReportsZero() {
        LatencyHistogram histogram = new LatencyHistogram();
        assertThat(histogram.valueAt(0.5)).isZero();
        assertThat(histogram.max()).isZero();
    }

    @Test
    void percentilesAreTheNearestRankWithinOneThirtySecond() {
        long seed = 42;
        Random random = new Random(seed);
        LatencyHistogram histogram = new LatencyHistogram();
        long[] values = new long[10_000];
        for (int i = 0; i < values.length; i++) {
            values[i] = (long) Math.exp(random.nextDouble() * 25); // 1 ns to 72 s, log-uniform
            histogram.record(values[i]);
        }
        Arrays.sort(values);
        long previous = 0;
        for (double q : new double[] {0.01, 0.5, 0.9, 0.99, 0.999, 1.0}) {
            long exact = values[(int) Math.ceil(q * values.length) - 1];
            long reported = histogram.valueAt(q);
            assertThat(reported).as("q=%s seed=%d", q, seed).isBetween(exact, exact + exact / 32);
            assertThat(reported).isGreaterThanOrEqualTo(previous);
            previous = reported;
        }
        assertThat(histogram.max()).isEqualTo(values[values.length - 1]);
        assertThat(histogram.valueAt(1.0)).isEqualTo(histogram.max());
    }

    @Test
    void negativeValuesCountAsZero() {
        LatencyHistogram histogram = new LatencyHistogram();
        histogram.record(-5);
        assertThat(histogram.valueAt(1.0)).isZero();
    }
}
