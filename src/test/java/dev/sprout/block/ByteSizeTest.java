package dev.sprout.block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ByteSizeTest {

    @ParameterizedTest
    @CsvSource({
        "512, 512",
        "512B, 512",
        "0, 0",
        "1K, 1024",
        "1G, 1073741824",
        "1g, 1073741824",
        "1GiB, 1073741824",
        "1GB, 1073741824",
        "' 64M ', 67108864",
        "7E, 8070450532247928832",
        "9223372036854775807, 9223372036854775807",
        "8191P, 9222246136947933184",
    })
    void parsesBytesAndBinarySuffixes(String text, long bytes) {
        assertThat(ByteSize.parse(text)).isEqualTo(bytes);
    }

    @ParameterizedTest
    @ValueSource(strings = {"8E", "9223372036854775808", "8192P", "99999999999999999999999"})
    void rejectsSizesAboveTheLargestWithItsValue(String text) {
        assertThatIllegalArgumentException().isThrownBy(() -> ByteSize.parse(text))
                .withMessageContaining("'" + text + "' is too large")
                .withMessageContaining("9223372036854775807");
    }

    @ParameterizedTest
    @ValueSource(strings = {"-1", "12X", "", " ", "G", "1.5G", "1 G", "0x10"})
    void rejectsMalformedSizesNamingTheInput(String text) {
        assertThatIllegalArgumentException().isThrownBy(() -> ByteSize.parse(text))
                .withMessageStartingWith("invalid size '" + text + "'")
                .withMessageContaining("K, M, G, T, P or E");
    }

    @Test
    void formatsWithTheLargestExactUnit() {
        assertThat(ByteSize.format(7L << 60)).isEqualTo("7E");
        assertThat(ByteSize.format(1L << 30)).isEqualTo("1G");
        assertThat(ByteSize.format(1536L << 20)).isEqualTo("1536M");
        assertThat(ByteSize.format(512)).isEqualTo("512");
        assertThat(ByteSize.format(0)).isEqualTo("0");
        assertThat(ByteSize.format(Long.MAX_VALUE)).isEqualTo("9223372036854775807");
    }

    @Test
    void formatAndParseRoundTrip() {
        for (long bytes : new long[] {1, 4096, 1L << 40, 3L << 50, 7L << 60, Long.MAX_VALUE, 123_456_789}) {
            assertThat(ByteSize.parse(ByteSize.format(bytes))).isEqualTo(bytes);
        }
    }
}
