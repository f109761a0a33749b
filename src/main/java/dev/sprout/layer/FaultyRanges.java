package dev.sprout.layer;

import dev.sprout.block.ByteSize;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Where the error layer may fail requests, like bad sectors: byte ranges {@code [start, end)},
 * or the whole device when none are given. A request touches them if it shares a byte with one;
 * a flush touches none of them unless they are the whole device.
 */
final class FaultyRanges {

    /** One range; {@code end} is exclusive. */
    record Range(long start, long end) {
    }

    /** The ranges by start; empty: everywhere. */
    private final List<Range> ranges;

    private FaultyRanges(List<Range> ranges) {
        this.ranges = ranges.stream().sorted(Comparator.comparingLong(Range::start)).toList();
    }

    static final FaultyRanges EVERYWHERE = new FaultyRanges(List.of());

    /** {@code 0-4K,1M-1028K}: sizes with suffixes, each end exclusive and after its start. */
    static FaultyRanges parse(String text) {
        List<Range> ranges = new ArrayList<>();
        for (String piece : text.split(",")) {
            String[] ends = piece.strip().split("-", -1);
            try {
                if (ends.length != 2 || ByteSize.parse(ends[1]) <= ByteSize.parse(ends[0])) {
                    throw new IllegalArgumentException();
                }
                ranges.add(new Range(ByteSize.parse(ends[0]), ByteSize.parse(ends[1])));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("layer 'error': invalid ranges='" + text + "' at '" + piece
                        + "'; expected START-END,... with END exclusive and after START, such as 0-4K,1M-1028K");
            }
        }
        return new FaultyRanges(ranges);
    }

    /** Whether {@code [offset, offset+length)} shares a byte with a range (length 0: a flush). */
    boolean touches(long offset, long length) {
        return ranges.isEmpty() || ranges.stream().anyMatch(r -> offset < r.end() && r.start() < offset + length);
    }

}
