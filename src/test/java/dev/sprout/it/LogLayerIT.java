package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@code log} layer under libnbd's {@code nbdsh}: after the server stops, the log file, parsed
 * with the documented format, holds every request the client made with its operation, range,
 * flags and result.
 */
class LogLayerIT {

    private static final Pattern REQUEST = Pattern.compile("(\\S+) id=(\\d+) op=(\\w+) offset=(\\d+) length=(\\d+)"
            + " flags=(\\S+) result=(\\w+) us=(\\d+) conn=(\\d+) cookie=(\\d+)");

    /** The fields of a request line that the client decides. */
    private record Request(String op, long offset, long length, String flags, String result) {
    }

    @TempDir
    Path dir;

    @Test
    void everyNbdshRequestAppearsInTheLogWithItsRangeFlagsAndResult() throws Exception {
        Path log = dir.resolve("io.log");
        long m = 1 << 20;
        try (SproutServer server = SproutServer.start(dir, "--layer", "log:file=" + log, "memory", "64M")) {
            Cmd.nbdsh(server.uri(), """
                    M = 1 << 20
                    assert h.can_fast_zero() and h.can_cache() and h.can_fua()
                    h.pwrite(b"a" * 4096, 0)
                    h.pwrite(b"b" * 512, 8192, nbd.CMD_FLAG_FUA)
                    h.pwrite(bytes(range(256)) * 256, M)
                    assert h.pread(4096, 0) == b"a" * 4096
                    assert h.pread(65536, M) == bytes(range(256)) * 256
                    h.zero(65536, 2 * M)
                    h.zero(4096, 3 * M, nbd.CMD_FLAG_NO_HOLE | nbd.CMD_FLAG_FUA)
                    h.zero(8192, 4 * M, nbd.CMD_FLAG_FAST_ZERO)
                    h.trim(65536, 5 * M)
                    h.trim(4096, 6 * M, nbd.CMD_FLAG_FUA)
                    h.cache(4096, 0)
                    h.flush()
                    h.block_status(M, 0, lambda ctx, off, ents, err: 0)
                    """);
        }
        List<Request> expected = List.of(
                new Request("write", 0, 4096, "-", "OK"),
                new Request("write", 8192, 512, "fua", "OK"),
                new Request("write", m, 65536, "-", "OK"),
                new Request("read", 0, 4096, "-", "OK"),
                // a structured read reaches the device as one read of exactly the client's range
                new Request("read", m, 65536, "-", "OK"),
                new Request("zero", 2 * m, 65536, "-", "OK"),
                new Request("zero", 3 * m, 4096, "fua,nohole", "OK"),
                new Request("zero", 4 * m, 8192, "fast", "OK"),
                new Request("trim", 5 * m, 65536, "-", "OK"),
                new Request("trim", 6 * m, 4096, "fua", "OK"),
                new Request("cache", 0, 4096, "-", "OK"),
                new Request("flush", 0, 0, "-", "OK"),
                new Request("extents", 0, m, "-", "OK"));

        List<String> lines = Files.readAllLines(log);
        assertThat(lines.getFirst()).as("first line of %s", lines).matches("\\S+Z event=open size=67108864 device=Memory\\(64M\\)");
        assertThat(lines.getLast()).as("last line of %s", lines).matches("\\S+Z event=close requests=\\d+");
        List<Request> logged = new ArrayList<>();
        long previousId = 0;
        for (String line : lines.subList(1, lines.size() - 1)) {
            Matcher r = REQUEST.matcher(line);
            assertThat(r.matches()).as("documented format: %s", line).isTrue();
            Instant.parse(r.group(1));
            long id = Long.parseLong(r.group(2));
            assertThat(id).as("ids in order for one sequential client: %s", line).isEqualTo(previousId + 1);
            previousId = id;
            assertThat(Long.parseLong(r.group(9))).as("the client's connection number").isPositive();
            logged.add(new Request(r.group(3), Long.parseLong(r.group(4)), Long.parseLong(r.group(5)), r.group(6), r.group(7)));
        }
        assertThat(logged).as("log:\n%s", String.join("\n", lines)).containsExactlyElementsOf(expected);
        assertThat(lines.getLast()).endsWith("requests=" + expected.size());
    }
}
