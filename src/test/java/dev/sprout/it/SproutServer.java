package dev.sprout.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.URLEncoder;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real server, {@code java -jar sprout.jar serve -U <dir>/<n>.sock ...}, as a child process
 * with its log in a file beside the socket. {@link #close()} stops it with SIGTERM and asserts
 * that it exited cleanly: status 0 or 143, socket removed, nothing logged at error level.
 */
final class SproutServer implements AutoCloseable {

    private static final Duration STARTUP = Duration.ofSeconds(30);
    private static final Duration SHUTDOWN = Duration.ofSeconds(15);
    private static final AtomicInteger COUNT = new AtomicInteger();

    private final Process process;
    private final Path socket;
    private final Path log;
    private final String exportName;
    private boolean stopped;

    private SproutServer(Process process, Path socket, Path log, String exportName) {
        this.process = process;
        this.socket = socket;
        this.log = log;
        this.exportName = exportName;
    }

    /** The path of the jar under test, from failsafe's {@code sprout.jar} property. */
    static String jar() {
        String jar = System.getProperty("sprout.jar");
        assertThat(jar).as("system property sprout.jar (set by failsafe)").isNotBlank();
        assertThat(Path.of(jar)).as("the shaded jar").isRegularFile();
        return jar;
    }

    /** {@code java -jar sprout.jar ARGS...}, with the java of this JVM. */
    static List<String> command(String... sproutArgs) {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> command = new ArrayList<>(List.of(java, "-Xlog:disable", "-Xlog:all=warning:stderr", "-jar", jar()));
        command.addAll(List.of(sproutArgs));
        return command;
    }

    /** Starts {@code sprout serve -U <dir>/<n>.sock SERVE_ARGS...} and waits until it greets. */
    static SproutServer start(Path dir, String... serveArgs) {
        int n = COUNT.incrementAndGet();
        Path socket = dir.resolve("sprout-" + n + ".sock");
        Path log = dir.resolve("sprout-" + n + ".log");
        List<String> args = new ArrayList<>(List.of("serve", "-U", socket.toString()));
        args.addAll(List.of(serveArgs));
        Process process = Cmd.spawn(log, command(args.toArray(String[]::new)));
        SproutServer server = new SproutServer(process, socket, log, exportName(serveArgs));
        try {
            server.awaitGreeting();
        } catch (RuntimeException | AssertionError e) {
            server.kill();
            throw e;
        }
        return server;
    }

    Path socket() {
        return socket;
    }

    long pid() {
        return process.pid();
    }

    /** The export's URI, {@code nbd+unix:///NAME?socket=PATH}; qemu and libnbd both take it. */
    String uri() {
        return uri(exportName);
    }

    String uri(String name) {
        return "nbd+unix:///" + URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20")
                + "?socket=" + socket;
    }

    /** What the server logged so far. */
    String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Stops the server with SIGTERM, asserts that it shut down cleanly, and returns how long that took. */
    Duration stop() {
        stopped = true;
        if (!process.isAlive()) {
            throw new AssertionError("sprout died before it was stopped, exit " + process.exitValue() + ", log:\n" + log());
        }
        long start = System.nanoTime();
        process.destroy();
        if (!exited(SHUTDOWN)) {
            kill();
            throw new AssertionError("sprout ignored SIGTERM for " + SHUTDOWN.toSeconds() + " s; log:\n" + log());
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        String log = log();
        assertThat(process.exitValue()).as("exit status after SIGTERM; log:\n%s", log).isIn(0, 143);
        assertThat(log).as("sprout's log").doesNotContain("SEVERE").doesNotContain("\tat ");
        assertThat(socket).as("socket after shutdown").doesNotExist();
        return took;
    }

    /** Kills the server with SIGKILL, as a crash would, and waits until it is gone. */
    void crash() throws InterruptedException {
        stopped = true;
        process.destroyForcibly();
        process.waitFor();
    }

    /** {@link #stop()}, unless the test already did. */
    @Override
    public void close() {
        if (!stopped) {
            stop();
        }
    }

    private boolean exited(Duration within) {
        try {
            return process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            kill();
            throw new AssertionError("interrupted while stopping sprout", e);
        }
    }

    private void kill() {
        try {
            Cmd.kill(process);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Waits until the socket accepts and the server sends its greeting, then leaves politely with
     * NBD_OPT_ABORT (proto.md: "Newstyle negotiation").
     */
    private void awaitGreeting() {
        long deadline = System.nanoTime() + STARTUP.toNanos();
        while (true) {
            if (!process.isAlive()) {
                throw new AssertionError("sprout exited with " + process.exitValue() + " before listening; log:\n" + log());
            }
            if (Files.exists(socket)) {
                try {
                    CompletableFuture.runAsync(this::handshakeAndAbort).get(5, TimeUnit.SECONDS);
                    return;
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof AssertionError bad) {
                        throw new AssertionError("sprout's greeting is wrong; log:\n" + log(), bad);
                    }
                    // not accepting yet
                } catch (TimeoutException e) {
                    throw new AssertionError("sprout accepted but did not greet within 5 s; log:\n" + log());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new AssertionError(e);
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("sprout did not listen within " + STARTUP.toSeconds() + " s; log:\n" + log());
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    private void handshakeAndAbort() {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            ByteBuffer greeting = readFully(channel, 18);
            assertThat(greeting.getLong()).as("NBDMAGIC").isEqualTo(0x4e42444d41474943L);
            assertThat(greeting.getLong()).as("IHAVEOPT").isEqualTo(0x49484156454F5054L);
            ByteBuffer abort = ByteBuffer.allocate(4 + 16)
                    .putInt(3)                        // client flags: FIXED_NEWSTYLE | NO_ZEROES
                    .putLong(0x49484156454F5054L).putInt(2).putInt(0)  // NBD_OPT_ABORT, no data
                    .flip();
            while (abort.hasRemaining()) {
                channel.write(abort);
            }
            ByteBuffer reply = readFully(channel, 20);
            assertThat(reply.getLong()).as("option reply magic").isEqualTo(0x3e889045565a9L);
            assertThat(reply.getInt()).as("option").isEqualTo(2);
            assertThat(reply.getInt()).as("reply type ACK").isEqualTo(1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ByteBuffer readFully(SocketChannel channel, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                throw new IOException("closed after " + buffer.position() + " of " + length + " bytes");
            }
        }
        return buffer.flip();
    }

    private static String exportName(String... args) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals("-e") || args[i].equals("--export-name")) {
                return args[i + 1];
            }
        }
        return "";
    }

    @Override
    public String toString() {
        return "sprout pid " + process.pid() + " on " + socket;
    }
}
