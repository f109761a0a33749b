package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code sprout copy --connections N} to and from NBD exports: spread over N connections when the
 * server advertises multi-conn (sprout's own, whose log layer names each request's connection),
 * one connection and a note when it does not (nbdkit with its multi-conn filter disabling it).
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
}
