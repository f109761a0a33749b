package dev.sprout.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.DeviceException;
import dev.sprout.format.qcow2.Qcow2Image;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code PATH max-size=SIZE} and {@code file PATH max-size=SIZE} cap a qcow2 image; raw files refuse it. */
class BackendSpecQuotaTest {

    @TempDir
    Path dir;

    @Test
    void bareAndFileSyntaxesCapTheImage() throws IOException {
        Path image = dir.resolve("o.qcow2");
        Qcow2Image.create(image, 16L << 20, Optional.empty(), 65536);
        for (List<String> words : List.of(List.of(image.toString(), "max-size=512K"),
                List.of("file", image.toString(), "max-size=512K"))) {
            try (BlockDevice device = BackendSpec.parse(words).open(false)) {
                assertThatThrownBy(() -> device.write(0, ByteBuffer.allocate(1 << 20), false))
                        .isInstanceOf(DeviceException.class).hasMessageContaining("max-size");
            }
            assertThat(Files.size(image)).isLessThanOrEqualTo(512 << 10);
        }
    }

    @Test
    void rawFilesAndUnknownParametersAreRefused() throws IOException {
        Path raw = Files.write(dir.resolve("raw.img"), new byte[65536]);
        assertThatThrownBy(() -> BackendSpec.parse(List.of(raw.toString(), "max-size=1M")).open(false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("qcow2 images only");
        assertThatThrownBy(() -> BackendSpec.parse(List.of(raw.toString(), "maxsize=1M")).open(false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("max-size=SIZE");
    }
}
