package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code qemu-io}: writes (with FUA), zero writes with and without unmap, discards, flushes and
 * parallel requests, each read back with a pattern check; qemu-io exits 1 on a mismatch.
 */
class QemuIoIT {

    @TempDir
    Path dir;

    @Test
    void writeZeroDiscardAndFlushLeaveTheExpectedPatterns() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "memory", "64M")) {
            Cmd.Result result = qemuIo(server,
                    "write -P 0xcd 0 6M",
                    "write -P 0xab 0 1M",
                    "read -P 0xab 0 1M",
                    "write -z 1M 1M",
                    "read -P 0 1M 1M",
                    "write -z -u 2M 1M",
                    "read -P 0 2M 1M",
                    "discard 4M 1M",
                    "flush",
                    "read -P 0xcd 3M 1M",
                    "read -P 0xcd 5M 1M");
            assertThat(result.stdout()).doesNotContain("failed").contains("discard 1048576/1048576 bytes at offset 4194304");

            // A second connection, and a different client, sees the same disk.
            Cmd.nbdsh(server.uri(), """
                    M = 1 << 20
                    got = h.pread(6 * M, 0)
                    assert got[:M] == b"\\xab" * M
                    assert got[M:3 * M] == bytes(2 * M)
                    assert got[3 * M:4 * M] == b"\\xcd" * M
                    assert got[4 * M:5 * M] == bytes(M), "memory reads zeroes after a discard"
                    assert got[5 * M:] == b"\\xcd" * M
                    """);
        }
    }

    @Test
    void unalignedAndParallelRequestsReadBack() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "memory", "64M")) {
            qemuIo(server,
                    "write -P 0x11 513 1000",
                    "write -P 0x22 1513 7",
                    "read -P 0 0 513",
                    "read -P 0x11 513 1000",
                    "read -P 0x22 1513 7",
                    "read -P 0 1520 4000",
                    "aio_write -P 0x31 8M 64k",
                    "aio_write -P 0x32 9M 64k",
                    "aio_write -P 0x33 10M 1M",
                    "aio_write -P 0x34 12M 3M",
                    "aio_flush",
                    "aio_read -P 0x31 8M 64k",
                    "aio_read -P 0x32 9M 64k",
                    "aio_read -P 0x33 10M 1M",
                    "aio_read -P 0x34 12M 3M",
                    "aio_flush");
        }
    }

    @Test
    void aWrongPatternIsNoticed() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "memory", "64M")) {
            Cmd.Result result = Cmd.run("qemu-io", "-f", "raw", "-c", "write -P 0xab 0 64k", "-c", "read -P 0xac 0 64k",
                    server.uri());
            assertThat(result.exitCode()).as("%s", result).isEqualTo(1);
            assertThat(result.stdout()).contains("Pattern verification failed at offset 0");
        }
    }

    @Test
    void readOnlyExportRefusesWrites() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "-r", "pattern", "64M")) {
            Cmd.Result write = Cmd.run("qemu-io", "-f", "raw", "-c", "write -P 0xab 0 64k", server.uri());
            assertThat(write.exitCode()).as("%s", write).isNotZero();
            assertThat(write.stdout() + write.stderr()).as("qemu opens it read-write, and the server refuses").contains("Permission denied");

            Cmd.run("qemu-io", "-r", "-f", "raw", "-c", "read -P 0 0 7", "-c", "read -P 0x08 15 1", server.uri())
                    .assertSuccess();
        }
    }

    private static Cmd.Result qemuIo(SproutServer server, String... commands) {
        String[] argv = new String[3 + 2 * commands.length + 1];
        argv[0] = "qemu-io";
        argv[1] = "-f";
        argv[2] = "raw";
        for (int i = 0; i < commands.length; i++) {
            argv[3 + 2 * i] = "-c";
            argv[4 + 2 * i] = commands[i];
        }
        argv[argv.length - 1] = server.uri();
        Cmd.Result result = Cmd.run(argv);
        if (result.exitCode() != 0 || result.stdout().contains("failed") || result.stderr().contains("failed")) {
            throw new AssertionError(result + "\n--- server log:\n" + server.log());
        }
        return result;
    }
}
