package dev.sprout.tool;

import dev.sprout.block.BlockDevice;
import dev.sprout.server.Export;
import dev.sprout.server.ExportTable;
import dev.sprout.server.NbdServer;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** sprout's own server for one device, on a Unix socket in a directory of the test's: one end of a copy. */
record ServedDevice(NbdServer server, String uri) implements AutoCloseable {

    static ServedDevice serve(Path dir, BlockDevice device) throws IOException {
        Path socket = Files.createTempDirectory(dir, "srv").resolve("s");
        NbdServer server = new NbdServer(new ExportTable(List.of(new Export("", "copy end", device))));
        server.listen(UnixDomainSocketAddress.of(socket));
        return new ServedDevice(server, "nbd+unix:///?socket=" + socket);
    }

    /** The same on TCP, on a free port of the loopback. */
    static ServedDevice serveOnTcp(BlockDevice device) throws IOException {
        NbdServer server = new NbdServer(new ExportTable(List.of(new Export("", "copy end", device))));
        InetSocketAddress bound = (InetSocketAddress) server.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        return new ServedDevice(server, "nbd://" + bound.getHostString() + ":" + bound.getPort() + "/");
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
