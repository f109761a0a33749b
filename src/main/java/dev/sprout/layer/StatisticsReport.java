package dev.sprout.layer;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Map;

/**
 * A {@link StatisticsDevice}'s counters at one moment, as the JSON file and as the table printed
 * on close. The JSON, whose shape is stable:
 *
 * <pre>{
 *   "device": "Memory(64M)",
 *   "time": "2026-11-22T02:18:04.123456Z",
 *   "seconds": 12.031,
 *   "operations": {
 *     "read": {"count": 120, "bytes": 491520, "errors": 0, "latency_ns": {"p50": 8191, "p90": 20479, "p99": 40959, "max": 41230}},
 *     ...
 *   }
 * }</pre>
 *
 * {@code device} is what the layer wraps, {@code time} when the counters were read (UTC),
 * {@code seconds} how long the layer had been open. {@code operations} always holds read, write,
 * zero, trim, flush, extents and cache in that order. {@code count} includes failed requests,
 * {@code errors} counts them, {@code bytes} sums the lengths of the requests that succeeded (the
 * range asked about for cache and extents, 0 for flush). Latencies are nanoseconds spent below
 * the layer, failed requests included; percentiles are by nearest rank and at most 1/32 above
 * the true value ({@link LatencyHistogram}), {@code max} is exact; all are 0 before the first
 * request.
 *
 * @param device     the device below the layer, as it describes itself
 * @param time       when the counters were read
 * @param seconds    how long the layer had been open then
 * @param operations every operation in {@link Operation} order
 */
record StatisticsReport(String device, Instant time, double seconds, Map<Operation, OperationCounters.Summary> operations) {

    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSS'Z'").withZone(ZoneOffset.UTC);

    /** The JSON document described above. */
    String json() {
        StringBuilder out = new StringBuilder("{\n");
        out.append("  \"device\": ").append(quote(device)).append(",\n");
        out.append("  \"time\": \"").append(TIME.format(time)).append("\",\n");
        out.append("  \"seconds\": ").append(String.format(Locale.ROOT, "%.3f", seconds)).append(",\n");
        out.append("  \"operations\": {");
        String separator = "\n";
        for (Map.Entry<Operation, OperationCounters.Summary> entry : operations.entrySet()) {
            OperationCounters.Summary s = entry.getValue();
            out.append(separator).append("    \"").append(entry.getKey().label()).append("\": {")
                    .append("\"count\": ").append(s.count())
                    .append(", \"bytes\": ").append(s.bytes())
                    .append(", \"errors\": ").append(s.errors())
                    .append(", \"latency_ns\": {\"p50\": ").append(s.p50())
                    .append(", \"p90\": ").append(s.p90())
                    .append(", \"p99\": ").append(s.p99())
                    .append(", \"max\": ").append(s.max()).append("}}");
            separator = ",\n";
        }
        return out.append("\n  }\n}\n").toString();
    }

    /** A short table of the operations that happened, latencies in microseconds. */
    String table() {
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT, "stats for %s over %.1f s:%n", device, seconds));
        out.append(String.format(Locale.ROOT, "  %-8s %10s %15s %7s %10s %10s %10s %10s%n",
                "op", "count", "bytes", "errors", "p50 us", "p90 us", "p99 us", "max us"));
        boolean any = false;
        for (Map.Entry<Operation, OperationCounters.Summary> entry : operations.entrySet()) {
            OperationCounters.Summary s = entry.getValue();
            if (s.count() > 0) {
                any = true;
                out.append(String.format(Locale.ROOT, "  %-8s %10d %15d %7d %10.1f %10.1f %10.1f %10.1f%n",
                        entry.getKey().label(), s.count(), s.bytes(), s.errors(),
                        s.p50() / 1e3, s.p90() / 1e3, s.p99() / 1e3, s.max() / 1e3));
            }
        }
        return any ? out.toString() : out.append("  no requests\n").toString();
    }

    private static String quote(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
