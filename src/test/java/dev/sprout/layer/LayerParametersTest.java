package dev.sprout.layer;

import dev.sprout.block.Errno;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class LayerParametersTest {

    @Test
    void listsContinueAcrossCommasUntilTheNextKey() {
        LayerParameters p = LayerParameters.parse("error", "rate=100%,ops=read,write,trigger=/tmp/inject,errno=EIO");

        assertThat(p.percent("rate")).contains(100.0);
        assertThat(p.operations("ops")).contains(EnumSet.of(Operation.READ, Operation.WRITE));
        assertThat(p.path("trigger")).contains(Path.of("/tmp/inject"));
        assertThat(p.errno("errno", Set.of(Errno.EIO, Errno.ENOSPC))).contains(Errno.EIO);
    }

    @Test
    void typedValuesParse() {
        LayerParameters p = LayerParameters.parse("x", "block=64K,seed=42,read=1.5s,write=250us,zero=10");

        assertThat(p.size("block")).contains(65536L);
        assertThat(p.number("seed")).contains(42L);
        assertThat(p.nanos("read")).contains(1_500_000_000L);
        assertThat(p.nanos("write")).contains(250_000L);
        assertThat(p.nanos("zero")).contains(10_000_000L);
        assertThat(p.size("missing")).isEmpty();
    }

    @Test
    void unknownParameterNamesTheAcceptedOnes() {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> LayerParameters.parse("delay", "reed=5").accept("read", "write"))
                .withMessage("layer 'delay': unknown parameter 'reed'; accepted: read, write");
    }

    @Test
    void badValuesSayWhatWasExpected() {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> LayerParameters.parse("error", "rate=150").percent("rate"))
                .withMessageContaining("invalid rate='150'").withMessageContaining("0 to 100");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> LayerParameters.parse("error", "errno=EFOO").errno("errno", EnumSet.of(Errno.EIO)))
                .withMessageContaining("invalid errno='EFOO'").withMessageContaining("EIO");
        assertThatIllegalArgumentException()
                .isThrownBy(() -> LayerParameters.parse("error", "ops=read,bogus").operations("ops"))
                .withMessageContaining("'bogus'").withMessageContaining("read, write, zero, trim, flush, extents, cache");
    }

    @Test
    void malformedTextIsRefused() {
        assertThatIllegalArgumentException().isThrownBy(() -> LayerParameters.parse("x", "novalue"))
                .withMessageContaining("expected key=value");
        assertThatIllegalArgumentException().isThrownBy(() -> LayerParameters.parse("x", "a=1,a=2"))
                .withMessageContaining("given twice");
    }
}
