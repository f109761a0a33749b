package dev.sprout.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The error layer as libnbd sees it through {@code nbdsh}: the {@code touch /tmp/inject}
 * workflow on one connection, bad-sector ranges, and seeded rates that replay exactly.
 */
class ErrorLayerNbdshIT {

    /** Helpers every script may use. */
    private static final String PRELUDE = """
            import subprocess

            def expect_error(name, f):
                try:
                    f()
                except nbd.Error as e:
                    assert e.errno == name, (name, e.errno, e.string)
                    return
                raise AssertionError("expected " + name)
            """;

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"EIO", "ENOSPC"})
    void readsFailWithTheChosenErrnoWhileTheTriggerExists(String errno) throws Exception {
        Path trigger = dir.resolve("inject");
        try (SproutServer server = SproutServer.start(dir, "--layer", "error:trigger=" + trigger + ",errno=" + errno,
                "memory", "16M")) {
            nbdsh(server, """
                    trigger, errno = %s, %s
                    M = 1 << 20
                    data = {off: os.urandom(n) for off, n in [(0, 4096), (5 * M + 3, 70000), (16 * M - 512, 512)]}
                    for off, buf in data.items():
                        h.pwrite(buf, off)
                    def reads_succeed():
                        for off, buf in data.items():
                            assert h.pread(len(buf), off) == buf, off
                    reads_succeed()

                    subprocess.run(["touch", trigger], check=True)
                    for off, buf in data.items():
                        expect_error(errno, lambda: h.pread(len(buf), off))
                    expect_error(errno, lambda: h.pwrite(b"\\xff" * 4096, 0))
                    expect_error(errno, lambda: h.zero(4096, 0))
                    expect_error(errno, lambda: h.flush())
                    expect_error(errno, lambda: h.pread(1, 0))

                    subprocess.run(["rm", trigger], check=True)
                    reads_succeed()
                    h.flush()
                    """.formatted(py(trigger.toString()), py(errno)));
            assertThat(server.log()).contains("injected " + errno + " (error layer): read 0+4096");
        }
    }

    @Test
    void rangesFailOnlyTheRequestsThatTouchThem() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "--layer", "error:ranges=1M-1028K,15M-16M,ops=read,write",
                "memory", "16M")) {
            nbdsh(server, """
                    M = 1 << 20
                    assert h.pread(M, 0) == bytes(M)
                    assert h.pread(M - 4096, M + 4096) == bytes(M - 4096)
                    h.pwrite(b"\\x01" * 4096, M - 4096)
                    h.zero(4096, M)
                    for n, off in [(4096, M), (1, M + 4095), (2, M - 1), (8 * M, 0), (1, 15 * M), (M, 15 * M)]:
                        expect_error("EIO", lambda: h.pread(n, off))
                    expect_error("EIO", lambda: h.pwrite(b"\\x02" * 8192, M - 4096))
                    assert h.pread(4096, M - 4096) == b"\\x01" * 4096, "a failed write changed nothing"
                    h.flush()
                    """);
        }
    }

    @Test
    void aSeededRateFailsAboutThatShareOfRequestsAndReplaysExactly() throws Exception {
        String first = failurePattern("error:rate=10,seed=42,ops=read");
        long failures = first.chars().filter(c -> c == 'x').count();
        assertThat(failures).as("failed reads of 2000 at 10%%").isBetween(140L, 260L);
        assertThat(failurePattern("error:rate=10,seed=42,ops=read")).as("the same seed").isEqualTo(first);
        assertThat(failurePattern("error:rate=10,seed=43,ops=read")).as("another seed").isNotEqualTo(first);
    }

    @Test
    void badParametersStopTheServerAtStartUpNamingThem() {
        Cmd.Result result = Cmd.run(Cmd.TIMEOUT, SproutServer.command("serve", "-U", dir.resolve("x.sock").toString(),
                "--layer", "error:ranges=1M-1028K,8M-8M", "memory", "16M").toArray(String[]::new));
        assertThat(result.exitCode()).as("%s", result).isNotZero();
        assertThat(result.stderr()).contains("layer 'error': invalid ranges='1M-1028K,8M-8M' at '8M-8M'");
        assertThat(dir.resolve("x.sock")).doesNotExist();
    }

    /** Which of 2000 reads failed, as a string of {@code .} and {@code x}. */
    private String failurePattern(String layer) throws Exception {
        try (SproutServer server = SproutServer.start(dir, "--layer", layer, "memory", "1M")) {
            String out = nbdsh(server, """
                    pattern = []
                    for i in range(2000):
                        try:
                            h.pread(512, (i * 4096) % (1 << 20))
                            pattern.append(".")
                        except nbd.Error as e:
                            assert e.errno == "EIO", e.errno
                            pattern.append("x")
                    h.pwrite(b"still writable", 0)
                    print("".join(pattern))
                    """);
            return out.strip();
        }
    }

    private static String py(String text) {
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    private static String nbdsh(SproutServer server, String script) {
        Cmd.Result result = Cmd.run(Cmd.TIMEOUT, "nbdsh", "-u", server.uri(), "-c", "import os\n" + PRELUDE + script);
        if (result.exitCode() != 0) {
            throw new AssertionError(result + "\n--- server log:\n" + server.log());
        }
        return result.stdout();
    }
}
