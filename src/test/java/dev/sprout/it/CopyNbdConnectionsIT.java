package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code sprout copy --connections N} to and from NBD exports: spread over N connections when the
 * server advertises multi-conn (sprout's own, whose log layer names each request's connection),
 * one connection and a note when it does not (nbdkit with its multi-conn filter disabling it);
 * and requests aligned to an export's minimum block size (nbdkit's blocksize-policy filter
 * refusing anything smaller with EINVAL).
 */
class CopyNbdConnectionsIT {

    private static final long MiB = 1 << 20;
    private static final Pattern WRITE_CONNECTION = Pattern.compile(" op=write .* result=OK .* conn=(\\d+) ");
    private static final Pattern READ_CONNECTION = Pattern.compile(" op=read .* result=OK .* conn=(\\d+) ");

    @TempDir
    Path dir;

    private static Cmd.Result sprout(String... args) {
        return Cmd.run(SproutServer.command(args).toArray(String[]::new));
    }

    private static Set<String> connections(Path log, Pattern pattern) throws Exception {
        return Files.readAllLines(log).stream().map(pattern::matcher).filter(Matcher::find)
                .map(m -> m.group(1)).collect(Collectors.toSet());
    }

    @Test
    void fourConnectionsToAndFromSproutsServerCarryTheCopyAndItIsExact() throws Exception {
        Path source = NbdcopyIT.sparseRandomImage(dir.resolve("source.img"), 64 * MiB, System.nanoTime());
        Path log = dir.resolve("io.log");
        Path back = dir.resolve("back.img");
        try (SproutServer server = SproutServer.start(dir, "--layer", "log:file=" + log, "memory", "64M")) {
            Cmd.Result in = sprout("copy", "--connections", "4", source.toString(), server.uri()).assertSuccess();
            assertThat(in.stderr()).doesNotContain("note:");
            Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(), server.uri()).assertSuccess();
            sprout("copy", "--connections", "3", server.uri(), back.toString()).assertSuccess();
        }
        Cmd.run("cmp", source.toString(), back.toString()).assertSuccess();
        // The copy in made the first four connections, the copy out the next three (qemu-img's one between).
        Set<String> writers = connections(log, WRITE_CONNECTION);
        assertThat(writers).as("connections that wrote").hasSize(4);
        Set<String> readers = connections(log, READ_CONNECTION);
        assertThat(readers).as("connections that read").hasSizeGreaterThanOrEqualTo(3);
    }

    @Test
    void withoutMultiConnTheCopyTakesOneConnectionAndSaysSo() throws Exception {
        Path source = NbdcopyIT.sparseRandomImage(dir.resolve("source.img"), 16 * MiB, 5);
        Path socket = dir.resolve("kit.sock");
        String uri = "nbd+unix:///?socket=" + socket;
        try (NbdClientInteropIT.Server ignored = NbdClientInteropIT.Server.start(dir, socket, "nbdkit", "-f", "-U",
                socket.toString(), "--filter=multi-conn", "memory", "16M", "multi-conn-mode=disable")) {
            Cmd.Result copy = sprout("copy", "--connections", "4", source.toString(), uri).assertSuccess();
            assertThat(copy.stderr()).contains("sprout: note: " + uri
                    + " does not advertise multi-conn: using 1 connection, not 4");
            Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(), uri).assertSuccess();
        }
    }

    /** The connections the default ({@code auto}) opens to a multi-conn server: one per core, 2 to 4. */
    private static int autoConnections() {
        return Math.clamp(Runtime.getRuntime().availableProcessors(), 2, 4);
    }

    @Test
    void byDefaultACopyToAndFromSproutsServerTakesSeveralConnections() throws Exception {
        Path source = NbdcopyIT.sparseRandomImage(dir.resolve("source.img"), 32 * MiB, System.nanoTime());
        Path log = dir.resolve("io.log");
        Path back = dir.resolve("back.img");
        try (SproutServer server = SproutServer.start(dir, "--layer", "log:file=" + log, "memory", "32M")) {
            Cmd.Result in = sprout("copy", source.toString(), server.uri()).assertSuccess();
            assertThat(in.stderr()).doesNotContain("note:");
            sprout("copy", server.uri(), back.toString()).assertSuccess();
            Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(), server.uri()).assertSuccess();
        }
        Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(), back.toString()).assertSuccess();
        assertThat(connections(log, WRITE_CONNECTION)).as("connections that wrote").hasSize(autoConnections());
        // The copy out's connections, and qemu-img compare's one.
        assertThat(connections(log, READ_CONNECTION)).as("connections that read").hasSize(autoConnections() + 1);
    }

    /** Connections nbdkit's log filter saw open. */
    private static long nbdkitConnections(Path log) throws Exception {
        return Files.readAllLines(log).stream().filter(line -> line.matches(".* connection=\\d+ Connect .*")).count();
    }

    /**
     * The default against nbdkit as the peer: as many connections as with sprout's server when it
     * advertises multi-conn, one and no note when its multi-conn filter takes that away.
     */
    @Test
    void byDefaultNbdkitGetsSeveralConnectionsWithMultiConnAndOneWithout() throws Exception {
        Path source = NbdcopyIT.sparseRandomImage(dir.resolve("source.img"), 32 * MiB, System.nanoTime());
        // "plugin": what the memory plugin says, which is multi-conn.
        for (String mode : List.of("plugin", "disable")) {
            Path socket = dir.resolve(mode + ".sock");
            Path log = dir.resolve(mode + ".log");
            String uri = "nbd+unix:///?socket=" + socket;
            Path back = dir.resolve(mode + ".img");
            try (NbdClientInteropIT.Server ignored = NbdClientInteropIT.Server.start(dir, socket, "nbdkit", "-f", "-U",
                    socket.toString(), "--filter=log", "--filter=multi-conn", "memory", "32M", "logfile=" + log,
                    "multi-conn-mode=" + mode)) {
                boolean multiConn = mode.equals("plugin");
                assertThat(Cmd.run("nbdinfo", "--can", "multi-conn", uri).exitCode()).isEqualTo(multiConn ? 0 : 2);
                long before = nbdkitConnections(log);
                Cmd.Result in = sprout("copy", source.toString(), uri).assertSuccess();
                assertThat(in.stderr()).doesNotContain("note:");
                sprout("copy", uri, back.toString()).assertSuccess();
                long copies = nbdkitConnections(log) - before;
                Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(), uri).assertSuccess();
                assertThat(copies).as("connections of both copies, multi-conn-mode=%s", mode)
                        .isEqualTo(multiConn ? 2L * autoConnections() : 2L);
            }
            Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(), back.toString()).assertSuccess();
        }
    }

    /**
     * More requests than a connection takes (64), and more data chunks than requests, over one
     * connection and over several: every read chain's next read still goes out. A reader once
     * waited for a free request that only it could free, and this copy hung.
     */
    @Test
    void moreRequestsThanAConnectionTakesStillCopyOutOfNbdkit() throws Exception {
        Path source = dir.resolve("source.img");
        byte[] data = new byte[(int) (256 * MiB)];
        new Random(5).nextBytes(data);
        Files.write(source, data);
        Path socket = dir.resolve("many.sock");
        String uri = "nbd+unix:///?socket=" + socket;
        try (NbdClientInteropIT.Server ignored = NbdClientInteropIT.Server.start(dir, socket, "nbdkit", "-f", "-U",
                socket.toString(), "memory", "256M")) {
            sprout("copy", source.toString(), uri).assertSuccess();
            for (String connections : List.of("1", "4")) {
                Path back = dir.resolve("back-" + connections + ".img");
                sprout("copy", "--requests", "80", "--connections", connections, uri, back.toString()).assertSuccess();
                Cmd.run("cmp", source.toString(), back.toString()).assertSuccess();
            }
        }
    }

    /** An 8 MiB nbdkit memory export behind its blocksize-policy filter: requests outside {@code limit} fail with EINVAL. */
    private NbdClientInteropIT.Server strictNbdkit(Path socket, String limit) throws Exception {
        return NbdClientInteropIT.Server.start(dir, socket, "nbdkit", "-f", "-U", socket.toString(),
                "--filter=blocksize-policy", "memory", "8M", limit, "blocksize-error-policy=error");
    }

    /**
     * An export that takes at most 64 KiB per READ or WRITE (nbdkit's blocksize-policy filter
     * failing anything larger with EINVAL) gets the 1 MiB chunks of a copy split, both ways.
     */
    @Test
    void readsAndWritesStayWithinAMaximumBlockSizeOf64KiB() throws Exception {
        Path source = NbdcopyIT.sparseRandomImage(dir.resolve("source.img"), 8 * MiB, 11);
        Path socket = dir.resolve("small.sock");
        String uri = "nbd+unix:///?socket=" + socket;
        Path back = dir.resolve("back.img");
        try (NbdClientInteropIT.Server ignored = strictNbdkit(socket, "blocksize-maximum=64K")) {
            assertThat(Cmd.run("nbdinfo", uri).assertSuccess().stdout()).contains("block_size_maximum: 65536");
            sprout("copy", source.toString(), uri).assertSuccess();
            Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(), uri).assertSuccess();
            sprout("copy", uri, back.toString()).assertSuccess();
        }
        Cmd.run("cmp", source.toString(), back.toString()).assertSuccess();
    }

    /**
     * A qcow2 image of 512-byte clusters has data and holes on 512-byte boundaries; an export that
     * takes nothing below 4 KiB gets whole 4 KiB blocks anyway, as writes, zeroes and reads.
     */
    @Test
    void requestsFollowAMinimumBlockSizeOf4KiBBothWays() throws Exception {
        Path source = dir.resolve("small-clusters.qcow2");
        Cmd.run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=512", source.toString(), "8M")
                .assertSuccess();
        Cmd.run("qemu-io", "-f", "qcow2", "-c", "write -P 0x11 512 1536", "-c", "write -P 0x22 10240 3072",
                "-c", "write -P 0x33 1M 512", "-c", "write -P 0x44 2097664 700", "-c", "write -z 4M 512",
                source.toString()).assertSuccess();
        Path socket = dir.resolve("strict.sock");
        String uri = "nbd+unix:///?socket=" + socket;
        Path back = dir.resolve("back.img");
        try (NbdClientInteropIT.Server ignored = strictNbdkit(socket, "blocksize-minimum=4096")) {
            assertThat(Cmd.run("nbdinfo", uri).assertSuccess().stdout()).contains("block_size_minimum: 4096");
            // Fill the export with non-zero bytes first, so every hole of the source must be zeroed.
            Path ones = dir.resolve("ones.img");
            Files.write(ones, new byte[(int) (8 * MiB)]);
            Cmd.run("qemu-io", "-f", "raw", "-c", "write -P 0xff 0 8M", ones.toString()).assertSuccess();
            sprout("copy", ones.toString(), uri).assertSuccess();

            sprout("copy", source.toString(), uri).assertSuccess();
            Cmd.run("qemu-img", "compare", "-f", "qcow2", "-F", "raw", source.toString(), uri).assertSuccess();
            sprout("copy", "--connections", "2", uri, back.toString()).assertSuccess();
        }
        Cmd.run("qemu-img", "compare", "-f", "qcow2", "-F", "raw", source.toString(), back.toString()).assertSuccess();
    }
}
