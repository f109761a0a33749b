package dev.sprout.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.block.BlockDevice;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** An in-process {@link NbdServer} on a Unix socket, started for one test and closed after it. */
final class RunningServer implements AutoCloseable {

    static final String DESCRIPTION = "desc";

    private final NbdServer server;
    private final Path socket;
    private final List<Export> exports;

    private RunningServer(List<Export> exports, Path socket) throws IOException {
        this.exports = exports;
        this.server = new NbdServer(new ExportTable(exports));
        this.socket = socket;
        server.listen(UnixDomainSocketAddress.of(socket));
    }

    /** Serves {@code device} as the default export "" described as {@link #DESCRIPTION}. */
    static RunningServer start(Path dir, BlockDevice device) throws IOException {
        return start(dir, List.of(new Export("", DESCRIPTION, device)));
    }

    /** Serves {@code exports} on the socket {@code dir/s}; one server per directory. */
    static RunningServer start(Path dir, List<Export> exports) throws IOException {
        return new RunningServer(exports, Files.createDirectories(dir).resolve("s"));
    }

    NbdServer server() {
        return server;
    }

    RawNbdClient connect() throws IOException {
        return RawNbdClient.connect(socket);
    }

    /** A client in transmission on the default export, with the options asked for. */
    RawNbdClient negotiated(boolean structuredReplies, boolean blockStatus) throws IOException {
        RawNbdClient client = connect();
        client.handshake();
        if (structuredReplies) {
            client.structuredReplies();
        }
        if (blockStatus) {
            assertThat(client.setMetaContext("base:allocation")).isPositive();
        }
        client.go("");
        return client;
    }

    /** Proves a fresh client still gets through: handshake, GO, a 512-byte read, DISC. */
    void assertServesAnotherClient() throws IOException {
        try (RawNbdClient other = negotiated(false, false)) {
            other.request(RawNbdClient.READ, 0, 0x5e1f, 0, 512);
            assertThat(other.readData(0x5e1f, 512)).hasSize(512);
            other.request(RawNbdClient.DISC, 0, 0xd15c, 0, 0);
            other.expectClosed();
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Export export : exports) {
            export.device().close();
        }
    }
}
