package dev.sprout.server;

import dev.sprout.backend.NullBlockDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A Unix socket is bound under a temporary name and renamed into place once it listens: the
 * server reports and cleans up the name it was given, leaves nothing else behind, and still
 * binds a path too long to have a longer temporary twin.
 */
class UnixSocketListenTest {

    @TempDir
    Path dir;

    private static NbdServer server() {
        return new NbdServer(new ExportTable(List.of(new Export("", "null", new NullBlockDevice(1 << 20)))));
    }

    private static String greeting(Path socket) throws IOException {
        try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            ByteBuffer bytes = ByteBuffer.allocate(8);
            while (bytes.hasRemaining() && client.read(bytes) >= 0) {
                Thread.onSpinWait();
            }
            return new String(bytes.array(), StandardCharsets.US_ASCII);
        }
    }

    @Test
    void theSocketAppearsUnderItsOwnNameAndIsRemovedOnClose() throws Exception {
        Path socket = dir.resolve("nbd.sock");
        NbdServer server = server();
        try (server) {
            assertThat(server.listen(UnixDomainSocketAddress.of(socket))).isEqualTo(UnixDomainSocketAddress.of(socket));
            try (var entries = Files.list(dir)) {
                assertThat(entries).containsExactly(socket);
            }
            assertThat(greeting(socket)).isEqualTo("NBDMAGIC");
        }
        assertThat(socket).doesNotExist();
    }

    /**
     * The listener is served by a platform thread, which waits for clients in the kernel and leaves
     * when the server closes: nothing is left waiting in a native call for the JVM's exit to wait for.
     */
    @Test
    void aPlatformThreadAcceptsClientsAndEndsOnClose() throws Exception {
        Set<Thread> before = Thread.getAllStackTraces().keySet();
        Thread accepting;
        try (NbdServer server = server()) {
            Path socket = dir.resolve("nbd.sock");
            server.listen(UnixDomainSocketAddress.of(socket));
            assertThat(greeting(socket)).isEqualTo("NBDMAGIC");
            List<Thread> started = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> !before.contains(t) && t.getName().startsWith("accept ")).toList();
            assertThat(started).hasSize(1);
            accepting = started.getFirst();
            assertThat(accepting.isVirtual()).isFalse();
            assertThat(accepting.isAlive()).isTrue();
        }
        accepting.join(10_000);
        assertThat(accepting.isAlive()).as("the accept thread after close").isFalse();
    }

    @Test
    void aPathTooLongForATemporaryTwinIsBoundInPlace() throws Exception {
        // sockaddr_un holds 107 bytes of path: this one fits, its ".NAME.PID" twin does not.
        String name = "s".repeat(Math.max(1, 104 - dir.toString().length()));
        Path socket = dir.resolve(name);
        assertThat(socket.toString().length()).isBetween(100, 107);
        try (NbdServer server = server()) {
            server.listen(UnixDomainSocketAddress.of(socket));
            assertThat(greeting(socket)).isEqualTo("NBDMAGIC");
        }
    }
}
