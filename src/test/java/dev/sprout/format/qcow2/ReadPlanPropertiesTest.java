package dev.sprout.format.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Over random cluster layouts, a read plan covers the range exactly, reads every byte from where
 * its cluster's own entry says, and is as short as it can be: no two neighbouring pieces could be
 * one I/O.
 */
class ReadPlanPropertiesTest {

    /** How a generated cluster maps, relative to the one before it. */
    private static final int NEXT_HOST = 0;
    private static final int FAR_HOST = 1;
    private static final int PREVIOUS_HOST = 2;
    private static final int COMPRESSED = 3;
    private static final int ZERO = 4;
    private static final int PREALLOCATED_ZERO = 5;
    private static final int UNALLOCATED = 6;

    @Property(tries = 1000)
    void piecesCoverTheRangeFromEachClustersOwnSourceAndCannotBeJoined(
            @ForAll @Size(min = 1, max = 40) List<@IntRange(min = 0, max = 6) Integer> layout,
            @ForAll @IntRange(min = 9, max = 16) int clusterBits,
            @ForAll @IntRange(min = 0, max = 1 << 20) int start,
            @ForAll @IntRange(min = 1, max = 1 << 22) int wanted) throws IOException {
        long clusterSize = 1L << clusterBits;
        long[] entries = entries(layout, clusterSize);
        long size = entries.length * clusterSize;
        long offset = start % size;
        int length = (int) Math.min(wanted, size - offset);

        List<ReadPlan.Piece> pieces = ReadPlan.of(offset, length, clusterBits, 3, c -> entries[(int) c]);

        long at = offset;
        ReadPlan.Piece previous = null;
        for (ReadPlan.Piece piece : pieces) {
            assertThat(piece.guest()).as("piece starts where the one before ended").isEqualTo(at);
            assertThat(piece.length()).isPositive();
            for (long g = piece.guest(); g < piece.guest() + piece.length(); g = (g | (clusterSize - 1)) + 1) {
                assertComesFromItsEntry(piece, g, entries[(int) (g >>> clusterBits)], clusterSize);
            }
            if (previous != null) {
                assertThat(oneIo(previous, piece)).as("%s then %s could be one I/O", previous, piece).isFalse();
            }
            previous = piece;
            at += piece.length();
        }
        assertThat(at).as("end of the last piece").isEqualTo(offset + length);
    }

    /** Guest byte {@code g}, the first of its cluster within {@code piece}, reads as {@code entry} says. */
    private static void assertComesFromItsEntry(ReadPlan.Piece piece, long g, long entry, long clusterSize) {
        long within = g & (clusterSize - 1);
        switch (ClusterEntry.kind(entry, 3)) {
            case DATA -> assertThat(piece).isInstanceOfSatisfying(ReadPlan.HostData.class, d ->
                    assertThat(d.host() + (g - d.guest())).as("host offset of guest %d", g)
                            .isEqualTo((entry & Tables.OFFSET_MASK) + within));
            case COMPRESSED -> assertThat(piece).isInstanceOfSatisfying(ReadPlan.Compressed.class, c -> {
                assertThat(c.entry()).isEqualTo(entry);
                assertThat(c.within()).isEqualTo(within);
                assertThat((long) c.within() + c.length()).as("compressed piece within its cluster").isLessThanOrEqualTo(clusterSize);
            });
            case ZERO -> assertThat(piece).isInstanceOf(ReadPlan.Zeroes.class);
            case UNALLOCATED -> assertThat(piece).isInstanceOf(ReadPlan.FromBacking.class);
        }
    }

    private static boolean oneIo(ReadPlan.Piece a, ReadPlan.Piece b) {
        return switch (a) {
            case ReadPlan.HostData d -> b instanceof ReadPlan.HostData e && d.host() + d.length() == e.host();
            case ReadPlan.Zeroes _ -> b instanceof ReadPlan.Zeroes;
            case ReadPlan.FromBacking _ -> b instanceof ReadPlan.FromBacking;
            case ReadPlan.Compressed _ -> false;
        };
    }

    /** L2 entries for the layout: host clusters after, far from or before the previous data cluster's. */
    private static long[] entries(List<Integer> layout, long clusterSize) {
        long[] entries = new long[layout.size()];
        long host = 1L << 30;
        for (int i = 0; i < entries.length; i++) {
            int code = layout.get(i);
            if (code == NEXT_HOST || code == FAR_HOST || code == PREVIOUS_HOST) {
                host += switch (code) {
                    case NEXT_HOST -> clusterSize;
                    case FAR_HOST -> 7 * clusterSize;
                    default -> -clusterSize;
                };
            }
            entries[i] = switch (code) {
                case NEXT_HOST, FAR_HOST, PREVIOUS_HOST -> host | Tables.COPIED;
                case COMPRESSED -> Tables.COMPRESSED | (host + 3 * clusterSize + 100 * i);
                case ZERO -> Tables.ZERO;
                case PREALLOCATED_ZERO -> (host + 11 * clusterSize) | Tables.ZERO | Tables.COPIED;
                default -> 0;
            };
        }
        return entries;
    }
}
