package dev.sprout.cli;

import dev.sprout.layer.LayerCatalog;
import dev.sprout.server.Export;
import dev.sprout.server.ExportTable;
import dev.sprout.server.NbdServer;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URLEncoder;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** {@code sprout serve}: serves one backend over NBD. */
final class ServeCommand implements Callable<Integer> {

    List<String> backend = new ArrayList<>();
    Path config;
    List<String> layers = new ArrayList<>();
    int port = 10809;
    String address;
    String unixSocket;
    boolean stdio;
    boolean readOnly;
    String exportName = "";
    String description;
    Path pidFile;
    String run;
    boolean verbose;
    boolean quiet;

    /** Released once every export's device is closed, which a shutdown hook waits for. */
    private final CountDownLatch devicesClosed = new CountDownLatch(1);

    CommandSpec declare() {
        return CommandDeclaration.command("serve", this, "Serve a disk over NBD.")
                .footer("", BackendSpec.USAGE, "", LayerCatalog.USAGE, "",
                        "Sizes take bytes or K, M, G, T, P, E suffixes (powers of 1024).",
                        "Examples:",
                        "  sprout serve memory 7E",
                        "  sprout serve -U /tmp/disk.sock file disk.img",
                        "  sprout serve -U - memory 1G --run 'nbdinfo \"$uri\"'",
                        "  sprout serve --layer cow:overlay=overlay.qcow2 file base.img")
                .remainingParameters(0, "BACKEND [ARG...]", () -> backend, v -> backend = v,
                        "The backend and its arguments.")
                .option("-c --config", "FILE", Path.class, () -> config, v -> config = v,
                        "Serve the exports a TOML file describes (see README) instead of one backend.")
                .repeatable("-l --layer", "NAME[:KEY=VALUE,...]", () -> layers, v -> layers = v,
                        "Stack a layer over the backend; repeatable, listed top-down (the first is what clients see).")
                .option("-p --port", "PORT", int.class, () -> port, v -> port = v,
                        "TCP port (default ${DEFAULT-VALUE}; 0 picks a free one).")
                .option("-i --ip", "ADDR", String.class, () -> address, v -> address = v,
                        "Listen on this address only (default: all).")
                .option("-U --unix", "PATH", String.class, () -> unixSocket, v -> unixSocket = v,
                        "Listen on a Unix socket instead of TCP; '-' makes a private one in a temporary folder.")
                .flag("-s --stdio", () -> stdio, v -> stdio = v, "Serve one client on stdin/stdout (for nbdfuse --command).")
                .flag("-r --read-only", () -> readOnly, v -> readOnly = v, "Refuse all writes.")
                .option("-e --export-name", "NAME", String.class, () -> exportName, v -> exportName = v,
                        "The export's name (default: empty).")
                .option("-D --description", "TEXT", String.class, () -> description, v -> description = v,
                        "The export's description.")
                .option("-P --pidfile", "FILE", Path.class, () -> pidFile, v -> pidFile = v,
                        "Write the process id here once listening.")
                .option("--run", "CMD", String.class, () -> run, v -> run = v,
                        "Run CMD with $uri, $nbd, $unixsocket, $port set, then exit with its status.")
                .flag("-v --verbose", () -> verbose, v -> verbose = v, "Log every connection and option.")
                .flag("-q --quiet", () -> quiet, v -> quiet = v, "Log warnings and errors only.")
                .spec();
    }

    @Override
    public Integer call() throws Exception {
        LogSetup.configure(verbose, quiet || stdio || run != null);
        if (stdio && (unixSocket != null || run != null)) {
            throw new IllegalArgumentException("-s serves stdin/stdout; it cannot be combined with -U or --run");
        }
        List<Export> exports = openExports();
        try (NbdServer server = new NbdServer(new ExportTable(exports))) {
            if (stdio) {
                server.serveStdio();
                return 0;
            }
            // The hook exists before the socket does: a SIGTERM as soon as a client can see the
            // server must still close it and remove the socket.
            CountDownLatch stopped = closeOnSignal(server);
            Endpoint endpoint = listen(server);
            writePidFile();
            if (run != null) {
                return CaptiveCommand.run(run, endpoint.variables(exports.getFirst().name()));
            }
            stopped.await();
            return 0;
        } finally {
            closeAll(exports);
            devicesClosed.countDown();
        }
    }

    /** The exports of --config, or the one the command line describes. */
    private List<Export> openExports() throws IOException {
        List<ExportSpec> specs;
        if (config != null) {
            if (!backend.isEmpty() || !layers.isEmpty() || readOnly || !exportName.isEmpty() || description != null) {
                throw new IllegalArgumentException(
                        "--config describes the exports; give no backend, --layer, -r, -e or -D with it");
            }
            specs = ExportConfig.read(config);
        } else {
            specs = List.of(new ExportSpec(exportName, description, BackendSpec.parse(backend), layers, readOnly));
        }
        List<Export> exports = new ArrayList<>();
        try {
            for (ExportSpec spec : specs) {
                exports.add(spec.open());
            }
        } catch (IOException | RuntimeException e) {
            closeAll(exports);
            throw e;
        }
        return exports;
    }

    private static void closeAll(List<Export> exports) {
        for (Export export : exports) {
            try {
                export.device().close();
            } catch (IOException e) {
                System.getLogger(ServeCommand.class.getName())
                        .log(System.Logger.Level.WARNING, "closing {0}: {1}", export.device(), e.toString());
            }
        }
    }

    /** Where the server listens, and the variables a captive command sees. */
    private record Endpoint(SocketAddress address) {
        Map<String, String> variables(String exportName) {
            Map<String, String> env = new LinkedHashMap<>();
            String name = URLEncoder.encode(exportName, StandardCharsets.UTF_8).replace("+", "%20");
            if (address instanceof UnixDomainSocketAddress unix) {
                String socket = unix.getPath().toAbsolutePath().toString();
                env.put("uri", "nbd+unix:///" + name + "?socket=" + socket);
                env.put("unixsocket", socket);
            } else {
                InetSocketAddress inet = (InetSocketAddress) address;
                String host = inet.getAddress().isAnyLocalAddress() ? "localhost" : inet.getHostString();
                if (host.contains(":")) {
                    host = "[" + host + "]";
                }
                env.put("uri", "nbd://" + host + ":" + inet.getPort() + "/" + name);
                env.put("port", Integer.toString(inet.getPort()));
            }
            env.put("nbd", env.get("uri"));
            return env;
        }
    }

    private Endpoint listen(NbdServer server) throws IOException {
        if (unixSocket == null) {
            InetSocketAddress where = address == null
                    ? new InetSocketAddress(port)
                    : new InetSocketAddress(InetAddress.getByName(address), port);
            return new Endpoint(server.listen(where));
        }
        if (unixSocket.equals("-")) {
            Path dir = Files.createTempDirectory("sprout");
            Path socket = dir.resolve("socket");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteQuietly(socket, dir)));
            return new Endpoint(server.listen(UnixDomainSocketAddress.of(socket)));
        }
        return new Endpoint(server.listen(UnixDomainSocketAddress.of(unixSocket)));
    }

    private void writePidFile() throws IOException {
        if (pidFile != null) {
            Files.writeString(pidFile, ProcessHandle.current().pid() + "\n");
            Path written = pidFile;
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteQuietly(written)));
        }
    }

    /** Closes {@code server} cleanly on SIGINT or SIGTERM (or exit); the latch opens when it is closed. */
    private CountDownLatch closeOnSignal(NbdServer server) {
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
            try {
                // Let call() close the devices (layers flush logs and statistics on close).
                devicesClosed.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                // exiting anyway
            }
        }));
        return stopped;
    }

    private static void deleteQuietly(Path... paths) {
        for (Path path : paths) {
            try {
                Files.deleteIfExists(path);
            } catch (IOException ignored) {
                // best effort at exit
            }
        }
    }
}
