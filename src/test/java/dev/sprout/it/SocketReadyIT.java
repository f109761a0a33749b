package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A script that starts {@code sprout serve -U SOCK} in the background and connects the moment
 * the socket file appears is never refused: the file appears only once the server listens.
 * (Bound in place, the file existed before listen(2), and such a client was refused 4 times in
 * 15 starts.)
 */
class SocketReadyIT {

    private static final int STARTS = 12;

    @TempDir
    Path dir;

    @Test
    void aClientConnectingAsSoonAsTheSocketFileAppearsIsGreeted() throws Exception {
        for (int i = 0; i < STARTS; i++) {
            Path socket = dir.resolve("s" + i + ".sock");
            Process server = Cmd.spawn(dir.resolve("s" + i + ".log"),
                    SproutServer.command("serve", "-U", socket.toString(), "null", "1M"));
            try {
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (!Files.exists(socket)) {
                    assertThat(server.isAlive()).as("server %d still starting", i).isTrue();
                    assertThat(System.nanoTime()).as("socket %d within 30 s", i).isLessThan(deadline);
                    Thread.onSpinWait();
                }
                try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
                    ByteBuffer greeting = ByteBuffer.allocate(8);
                    while (greeting.hasRemaining() && client.read(greeting) >= 0) {
                        Thread.onSpinWait();
                    }
                    assertThat(new String(greeting.array(), StandardCharsets.US_ASCII)).isEqualTo("NBDMAGIC");
                }
            } finally {
                Cmd.kill(server);
            }
        }
    }
}
