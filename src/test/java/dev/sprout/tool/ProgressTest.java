package dev.sprout.tool;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;

/** The numbers a copy prints: written without String.format, they must read as it would write them. */
class ProgressTest {

    @Property
    void bytesReadAsStringFormatWouldWriteThem(@ForAll @LongRange(min = 1024, max = Long.MAX_VALUE) long bytes) {
        String units = "KMGTPE";
        int unit = 0;
        double value = bytes / 1024.0;
        while (value >= 1024 && unit + 1 < units.length()) {
            value /= 1024;
            unit++;
        }
        assertThat(Progress.human(bytes)).isEqualTo(String.format(Locale.ROOT, "%.1f%c", value, units.charAt(unit)));
    }

    @Property
    void decimalsReadAsStringFormatWouldWriteThem(@ForAll @LongRange(min = 0, max = 1L << 40) long thousandths,
                                                  @ForAll @IntRange(min = 0, max = 3) int places) {
        double value = thousandths / 1000.0 + 0.0001; // never a tie between two roundings
        assertThat(Progress.decimal(value, places)).isEqualTo(String.format(Locale.ROOT, "%." + places + "f", value));
    }

    @Test
    void smallAndEdgeValues() {
        assertThat(Progress.human(0)).isEqualTo("0B");
        assertThat(Progress.human(1023)).isEqualTo("1023B");
        assertThat(Progress.human(1536)).isEqualTo("1.5K");
        assertThat(Progress.human(1048535)).isEqualTo("1024.0K");
        assertThat(Progress.human(Long.MAX_VALUE)).isEqualTo("8.0E");
        assertThat(Progress.decimal(0.005, 2)).isEqualTo("0.01");
        assertThat(Progress.decimal(1.999, 2)).isEqualTo("2.00");
        assertThat(Progress.decimal(7, 0)).isEqualTo("7");
    }

    @Test
    void theSummaryLine() {
        assertThat(new Copy.Summary(4L << 30, 2L << 30, 2L << 30, 1.5234).line())
                .isEqualTo("copied 4.0G (4294967296 bytes): 2.0G data, 2.0G holes or zeroes, in 1.52 s (2.6G/s)");
    }
}
