package dev.sprout.layer;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class LayerCatalogTest {

    @Test
    void stacksTopDown() throws IOException {
        try (BlockDevice device = LayerCatalog.stack(List.of("readonly", "readonly"), MemoryBlockDevice.create(1 << 20))) {
            assertThat(device).hasToString("ReadOnly(ReadOnly(Memory(1M)))");
            assertThat(device.capabilities().writable()).isFalse();
        }
    }

    @Test
    void unknownLayerListsTheKnownOnes() {
        assertThatIllegalArgumentException()
                .isThrownBy(() -> LayerCatalog.wrap("bogus:x=1", MemoryBlockDevice.create(1 << 20)))
                .withMessageStartingWith("unknown layer 'bogus'; known layers: ")
                .withMessageContaining("readonly");
    }

    @Test
    void overlaysKeepTheBackendReadOnly() {
        assertThat(LayerCatalog.neverWritesBelow(List.of("log:file=x", "cow:block=4K"))).isTrue();
        assertThat(LayerCatalog.neverWritesBelow(List.of("readonly"))).isFalse();
    }
}
