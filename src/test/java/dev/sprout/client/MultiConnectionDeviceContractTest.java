package dev.sprout.client;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockDeviceContract;
import dev.sprout.block.ForwardingBlockDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The block device contract through three connections to sprout's server (which advertises
 * multi-conn), requests taking turns: what one connection wrote, the next one reads.
 */
class MultiConnectionDeviceContractTest extends BlockDeviceContract {

    @TempDir
    Path dir;

    @Override
    protected BlockDevice newDevice(long size) throws IOException {
        InProcessServer server = new InProcessServer(dir, MemoryBlockDevice.create(size));
        BlockDevice device = MultiConnectionDevice.connect(server.uri(), 3, note -> {
            throw new AssertionError("sprout's server advertises multi-conn, yet: " + note);
        });
        assertThat(device).isInstanceOf(MultiConnectionDevice.class);
        assertThat(((MultiConnectionDevice) device).connectionCount()).isEqualTo(3);
        return new ForwardingBlockDevice(device) {
            @Override
            public void close() throws IOException {
                try {
                    in.close();
                } finally {
                    server.close();
                }
            }
        };
    }

    @Test
    void oneConnectionAskedForIsAPlainClient() throws IOException {
        try (InProcessServer server = new InProcessServer(dir, MemoryBlockDevice.create(1 << 20));
             BlockDevice device = MultiConnectionDevice.connect(server.uri(), 1, note -> { })) {
            assertThat(device).isInstanceOf(NbdBlockDevice.class);
        }
    }

    /** The fallback to one connection, with its note, is CopyNbdConnectionsIT's (nbdkit can refuse multi-conn). */
    @Test
    void severalConnectionsAreOpenedWithoutANoteWhenTheServerAllowsThem() throws IOException {
        List<String> notes = new ArrayList<>();
        try (InProcessServer server = new InProcessServer(dir, MemoryBlockDevice.create(1 << 20));
             BlockDevice device = MultiConnectionDevice.connect(server.uri(), 2, notes::add)) {
            assertThat(device.toString()).endsWith("x2");
        }
        assertThat(notes).isEmpty();
    }

    @Test
    void autoOpensOnePerCoreFromTwoToFourWhenTheServerAllowsSeveral() throws IOException {
        List<String> notes = new ArrayList<>();
        try (InProcessServer server = new InProcessServer(dir, MemoryBlockDevice.create(1 << 20));
             BlockDevice device = MultiConnectionDevice.connect(server.uri(), MultiConnectionDevice.AUTO, notes::add)) {
            assertThat(((MultiConnectionDevice) device).connectionCount())
                    .isEqualTo(Math.clamp(Runtime.getRuntime().availableProcessors(), 2, 4));
        }
        assertThat(notes).isEmpty();
    }
}
