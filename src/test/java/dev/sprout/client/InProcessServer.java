package dev.sprout.client;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.server.Export;
import dev.sprout.server.ExportTable;
import dev.sprout.server.NbdServer;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** sprout's own server on a Unix socket in a fresh directory, serving one device as export "". */
final class InProcessServer implements AutoCloseable {

    private final NbdServer server;
    private final BlockDevice device;
    private final Path socket;

    InProcessServer(Path dir, BlockDevice device) throws IOException {
        this.device = device;
        this.socket = Files.createTempDirectory(dir, "srv").resolve("s");
        this.server = new NbdServer(new ExportTable(List.of(new Export("", "test export", device))));
        server.listen(UnixDomainSocketAddress.of(socket));
    }

    String uri() {
        return "nbd+unix:///?socket=" + socket;
    }

    /** A client that stops the server when it is closed. */
    BlockDevice connectOwning() throws IOException {
        return new ForwardingBlockDevice(NbdBlockDevice.connect(uri())) {
            @Override
            public void close() throws IOException {
                try {
                    in.close();
                } finally {
                    InProcessServer.this.close();
                }
            }
        };
    }

    @Override
    public void close() throws IOException {
        server.close();
        device.close();
    }
}
