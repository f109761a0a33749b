package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code kill -TERM} on a background server: it closes its socket and exits at once, busy or idle,
 * even when the signal comes the moment the socket appears.
 */
class SigtermIT {

    private static final Duration PROMPT = Duration.ofSeconds(2);

    @TempDir
    Path dir;

    @Test
    void idleServerStopsPromptly() throws Exception {
        SproutServer server = SproutServer.start(dir, "memory", "1G");
        assertThat(server.stop()).as("time from SIGTERM to exit").isLessThan(PROMPT);
    }

    @Test
    void aSigtermAsSoonAsTheSocketAppearsStillRemovesIt() {
        for (int i = 0; i < 5; i++) {
            SproutServer server = SproutServer.start(dir, "memory", "1G");
            server.stop(); // asserts a clean exit and that the socket is gone
        }
    }

    @Test
    void serverWithAConnectedClientStopsPromptly() throws Exception {
        Path connected = dir.resolve("connected");
        try (SproutServer server = SproutServer.start(dir, "memory", "1G")) {
            Process client = Cmd.spawn(dir.resolve("nbdsh.log"), List.of("nbdsh", "-u", server.uri(), "-c",
                    "h.pwrite(b'x' * 4096, 0); open('" + connected + "', 'w').close()\nimport time; time.sleep(60)"));
            try {
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (!Files.exists(connected) && client.isAlive() && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertThat(connected).as("nbdsh connected and wrote").exists();

                assertThat(server.stop()).as("time from SIGTERM to exit with a client connected").isLessThan(PROMPT);
            } finally {
                Cmd.kill(client);
            }
        }
    }
}
