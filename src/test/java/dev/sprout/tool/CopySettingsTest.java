package dev.sprout.tool;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.backend.FileBlockDevice;
import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.client.MultiConnectionDevice;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CopySettingsTest {

    @TempDir
    Path dir;

    private static final String TCP = "nbd://127.0.0.1:10809/";
    private static final String UNIX = "nbd+unix:///?socket=/run/disk.sock";

    @Test
    void autoOutOfAFileIntoAnExportOverTcpIsOneConnectionPerTwoCores() throws Exception {
        Path image = Files.createFile(dir.resolve("in.img"));
        try (FileBlockDevice file = FileBlockDevice.open(image, true)) {
            int perTwoCores = Math.clamp(Runtime.getRuntime().availableProcessors() / 2, 1, 4);
            assertThat(CopySettings.defaults().connectionsInto(TCP, file)).isEqualTo(perTwoCores);
            assertThat(CopySettings.defaults().connectionsInto(UNIX, file)).isEqualTo(MultiConnectionDevice.AUTO);
            assertThat(CopySettings.defaults().connectionsInto(dir.resolve("out.img").toString(), file))
                    .isEqualTo(MultiConnectionDevice.AUTO);
            assertThat(withConnections(3).connectionsInto(TCP, file)).as("asked for").isEqualTo(3);
        }
    }

    @Test
    void autoOutOfAnythingElseIsLeftToTheConnectingClient() throws Exception {
        try (MemoryBlockDevice memory = MemoryBlockDevice.create(1 << 20)) {
            assertThat(CopySettings.defaults().connectionsInto(TCP, memory)).isEqualTo(MultiConnectionDevice.AUTO);
            assertThat(withConnections(2).connectionsInto(TCP, memory)).isEqualTo(2);
        }
    }

    private static CopySettings withConnections(int connections) {
        return new CopySettings(Copy.AUTO_REQUESTS, false, null, connections, false);
    }
}
