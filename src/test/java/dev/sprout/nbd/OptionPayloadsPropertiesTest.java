package dev.sprout.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.nbd.OptionPayloads.ExportQuery;
import dev.sprout.nbd.OptionPayloads.MalformedOptionException;
import dev.sprout.nbd.OptionPayloads.MetaContextQuery;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.From;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Option payload decoders against hostile input: whatever the bytes, a decoder either returns a
 * query or throws {@link MalformedOptionException} (answered with ERR_INVALID), never anything
 * that would tear down the connection.
 */
class OptionPayloadsPropertiesTest {

    @Property(tries = 1000)
    void exportQueryOfAnyBytesParsesOrIsMalformed(@ForAll("payloads") byte[] payload) {
        try {
            ExportQuery query = OptionPayloads.exportQuery(ByteBuffer.wrap(payload));
            assertThat(WireBytes.exportQuery(query.name(), ints(query.infoRequests()))).isEqualTo(payload);
        } catch (MalformedOptionException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
    }

    @Property(tries = 1000)
    void metaContextQueryOfAnyBytesParsesOrIsMalformed(@ForAll("payloads") byte[] payload) {
        try {
            MetaContextQuery query = OptionPayloads.metaContextQuery(ByteBuffer.wrap(payload));
            assertThat(WireBytes.metaContextQuery(query.exportName(), query.queries().toArray(String[]::new)))
                    .isEqualTo(payload);
        } catch (MalformedOptionException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
    }

    @Property(tries = 300)
    void exportQueryRoundTrips(@ForAll("names") String name,
                               @ForAll @Size(max = 8) List<@IntRange(max = 0xffff) Integer> requests)
            throws MalformedOptionException {
        ByteBuffer payload = ByteBuffer.wrap(WireBytes.exportQuery(name, ints(requests)));

        assertThat(OptionPayloads.exportQuery(payload)).isEqualTo(new ExportQuery(name, requests));
    }

    @Property(tries = 300)
    void metaContextQueryRoundTrips(@ForAll("names") String exportName,
                                    @ForAll @Size(max = 5) List<@From("names") String> queries)
            throws MalformedOptionException {
        ByteBuffer payload = ByteBuffer.wrap(WireBytes.metaContextQuery(exportName, queries.toArray(String[]::new)));

        assertThat(OptionPayloads.metaContextQuery(payload)).isEqualTo(new MetaContextQuery(exportName, queries));
    }

    /** Mostly well-formed prefixes with a few flipped or cut bytes, plus plain noise. */
    @Provide
    Arbitrary<byte[]> payloads() {
        Arbitrary<byte[]> noise = Arbitraries.bytes().array(byte[].class).ofMaxSize(64);
        Arbitrary<byte[]> nearlyValid = Combinators.combine(names().list().ofMaxSize(3),
                Arbitraries.integers().between(0, 40), Arbitraries.integers().between(0, 255))
                .as((queries, at, value) -> corrupt(
                        WireBytes.metaContextQuery("", queries.toArray(String[]::new)), at, value));
        return Arbitraries.oneOf(noise, nearlyValid);
    }

    @Provide
    Arbitrary<String> names() {
        return Arbitraries.oneOf(Arbitraries.strings().withCharRange(' ', '~').ofMaxLength(20),
                Arbitraries.strings().withCharRange('\u0000', '\ud7ff').ofMaxLength(10),
                Arbitraries.of("", "base:", "base:allocation", "d\ud83d\ude00"));
    }

    /** Overwrites the byte at {@code at} with {@code value}, or cuts the payload there. */
    private static byte[] corrupt(byte[] valid, int at, int value) {
        if (at >= valid.length) {
            return valid;
        }
        if (value % 3 == 0) {
            return Arrays.copyOf(valid, at);
        }
        valid[at] = (byte) value;
        return valid;
    }

    private static int[] ints(List<Integer> values) {
        return values.stream().mapToInt(Integer::intValue).toArray();
    }
}
