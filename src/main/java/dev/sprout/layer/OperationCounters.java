package dev.sprout.layer;

import java.util.concurrent.atomic.LongAdder;

/** What a {@link StatisticsDevice} counts for one kind of operation; lock-free. */
final class OperationCounters {

    /** Requests finished, failed ones included. */
    private final LongAdder count = new LongAdder();
    /** Bytes covered by the requests that succeeded. */
    private final LongAdder bytes = new LongAdder();
    /** Requests that failed. */
    private final LongAdder errors = new LongAdder();
    /** Time spent below the layer per request, in nanoseconds, failed ones included. */
    private final LatencyHistogram latency = new LatencyHistogram();

    /** The counters at one moment, latencies in nanoseconds. */
    record Summary(long count, long bytes, long errors, long p50, long p90, long p99, long max) {
    }

    void record(long length, long nanos, boolean succeeded) {
        latency.record(nanos);
        if (succeeded) {
            bytes.add(length);
        } else {
            errors.increment();
        }
        count.increment();
    }

    Summary summary() {
        return new Summary(count.sum(), bytes.sum(), errors.sum(),
                latency.valueAt(0.50), latency.valueAt(0.90), latency.valueAt(0.99), latency.max());
    }
}
