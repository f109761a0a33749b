package dev.sprout.format.qcow2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprout.backend.FileBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.tool.ImageOpener;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Backing files are opened by the caller's {@link BackingOpener}; the format only finds and checks them. */
class BackingOpenerTest {

    @TempDir
    Path dir;

    @Test
    void rawBackingFilesAreReadThroughTheDeviceTheOpenerGives() throws IOException {
        Path base = dir.resolve("base.img");
        Files.write(base, "base bytes".getBytes());
        Files.write(base, new byte[4096 - 10], java.nio.file.StandardOpenOption.APPEND);
        Qcow2Image.create(dir.resolve("top.qcow2"), 4096, Optional.of(new Qcow2Image.Backing("base.img", "raw")), 4096);
        List<String> asked = new ArrayList<>();
        BackingOpener recording = (path, format) -> {
            asked.add(path + " " + format);
            return FileBlockDevice.open(path, true);
        };
        try (Qcow2Image top = Qcow2Image.open(dir.resolve("top.qcow2"), false, recording)) {
            ByteBuffer head = ByteBuffer.allocate(10);
            top.read(0, head);
            assertThat(new String(head.array())).isEqualTo("base bytes");
            assertThat(top.info().backingChain()).containsExactly("File(" + base + ")");
        }
        assertThat(asked).containsExactly(base + " raw");
    }

    @Test
    void aBackingLoopIsRefusedNotFollowedForever() throws IOException {
        Qcow2Image.create(dir.resolve("a.qcow2"), 1 << 20, Optional.of(new Qcow2Image.Backing("b.qcow2", "qcow2")), 65536);
        Qcow2Image.create(dir.resolve("b.qcow2"), 1 << 20, Optional.of(new Qcow2Image.Backing("a.qcow2", "qcow2")), 65536);
        assertThatThrownBy(() -> Qcow2Image.open(dir.resolve("a.qcow2"), true, ImageOpener.BACKING_FILES))
                .hasMessageContaining("backing chain deeper than " + BackingFile.MAX_DEPTH);
    }

    @Test
    void withoutAnOpenerAnImageThatNamesABackingFileIsRefused() throws IOException {
        Files.write(dir.resolve("base.img"), new byte[4096]);
        Qcow2Image.create(dir.resolve("top.qcow2"), 4096, Optional.of(new Qcow2Image.Backing("base.img", "raw")), 4096);
        assertThatThrownBy(() -> Qcow2Image.open(dir.resolve("top.qcow2"), true))
                .hasMessageContaining("backing file " + dir.resolve("base.img"));
    }

    @Test
    void aBackingDeviceOpenedWritableIsRefused() throws IOException {
        Files.write(dir.resolve("base.img"), new byte[4096]);
        Qcow2Image.create(dir.resolve("top.qcow2"), 4096, Optional.of(new Qcow2Image.Backing("base.img", "raw")), 4096);
        BackingOpener careless = (path, format) -> FileBlockDevice.open(path, false);
        assertThatThrownBy(() -> Qcow2Image.open(dir.resolve("top.qcow2"), false, careless))
                .hasMessageContaining("opened writable");
    }
}
