package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * libnbd through {@code nbdsh}: every command of the data phase with its flags, the errors
 * proto.md asks for, and the content the backends promise. Each script asserts in Python;
 * a failed assertion fails the nbdsh run and with it the test.
 */
class NbdshIT {

    /** Helpers every script may use. */
    private static final String PRELUDE = """
            import os, random

            def extents(count, offset, flags=0):
                got = []
                def cb(ctx, off, ents, err):
                    assert ctx == nbd.CONTEXT_BASE_ALLOCATION, ctx
                    for i in range(0, len(ents), 2):
                        got.append((ents[i], ents[i + 1]))
                    return 0
                h.block_status(count, offset, cb, flags=flags)
                return got

            def expect_error(name, f):
                try:
                    f()
                except nbd.Error as e:
                    assert e.errno == name, (name, e.errno, e.string)
                    return
                raise AssertionError("expected " + name)

            def still_serving():
                h.pwrite(b"alive", 100)
                assert h.pread(5, 100) == b"alive"
            """;

    @TempDir
    Path dir;

    @Test
    void writesAtUnalignedOffsetsReadBackExactly() throws Exception {
        long seed = System.nanoTime();
        try (SproutServer server = SproutServer.start(dir, "memory", "4M")) {
            nbdsh(server, "seed " + seed, """
                    rnd = random.Random(%d)
                    size = h.get_size()
                    model = bytearray(size)
                    for i in range(300):
                        off = rnd.randrange(size)
                        n = min(size - off, rnd.choice([1, 3, 511, 513, 4095, 4097, 65535, 65537, 300001]))
                        buf = rnd.randbytes(n)
                        h.pwrite(buf, off)
                        model[off:off + n] = buf
                        a, b = max(0, off - 77), min(size, off + n + 77)
                        assert h.pread(b - a, a) == model[a:b], ("write", i, off, n)
                    for i in range(200):
                        off = rnd.randrange(size)
                        n = rnd.randint(1, min(size - off, 200000))
                        assert h.pread(n, off) == model[off:off + n], ("read", i, off, n)
                    whole = b"".join(h.pread(1 << 20, off) for off in range(0, size, 1 << 20))
                    assert whole == model
                    """.formatted(seed));
        }
    }

    @Test
    void writeZeroesWithAndWithoutNoHoleAndFastZero() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "memory", "8M")) {
            nbdsh(server, """
                    M = 1 << 20
                    model = bytearray(b"\\xff" * (8 * M))
                    h.pwrite(bytes(model), 0)
                    def zero(n, off, flags=0):
                        h.zero(n, off, flags=flags)
                        model[off:off + n] = bytes(n)
                    zero(1000, 5000)
                    zero(2 * M, M, nbd.CMD_FLAG_NO_HOLE)
                    zero(M + 3, 3 * M + 1, nbd.CMD_FLAG_FAST_ZERO)
                    zero(M, 5 * M, nbd.CMD_FLAG_NO_HOLE | nbd.CMD_FLAG_FAST_ZERO)
                    zero(M, 7 * M)
                    assert h.pread(8 * M, 0) == model
                    # A plain zero may leave a hole; either way the range must be flagged zero.
                    for off, n in [(M, 2 * M), (5 * M, M), (7 * M, M)]:
                        for length, flags in extents(n, off):
                            assert flags & nbd.STATE_ZERO, (off, length, flags)
                    """);
        }
    }

    @Test
    void trimmedRangesReadAsZeroesAndBecomeHoles() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "memory", "8M")) {
            nbdsh(server, """
                    M = 1 << 20
                    data = os.urandom(8 * M)
                    h.pwrite(data, 0)
                    h.trim(2 * M, 2 * M)
                    h.trim(4096 * 3 + 17, 6 * M + 5)
                    got = h.pread(8 * M, 0)
                    assert got[:2 * M] == data[:2 * M]
                    assert got[2 * M:4 * M] == bytes(2 * M)
                    assert got[4 * M:6 * M + 5] == data[4 * M:6 * M + 5]
                    assert got[6 * M + 5 + 4096 * 3 + 17:] == data[6 * M + 5 + 4096 * 3 + 17:]
                    ext = extents(2 * M, 2 * M)
                    assert sum(n for n, _ in ext) >= 2 * M, ext
                    assert all(f == nbd.STATE_HOLE | nbd.STATE_ZERO for _, f in ext), ext
                    """);
        }
    }

    @Test
    void fuaWritesFlushAndCacheAreVisibleToASecondConnection() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "memory", "1G")) {
            nbdsh(server, """
                    assert h.can_flush() and h.can_fua() and h.can_cache() and h.can_multi_conn()
                    h.pwrite(b"durable" * 1000, 12345, flags=nbd.CMD_FLAG_FUA)
                    h.pwrite(b"flushed" * 1000, 1 << 29)
                    h.flush()
                    h.cache(1 << 20, 0)
                    h.cache(7, (1 << 30) - 7)
                    other = nbd.NBD()
                    other.connect_uri(h.get_uri())
                    assert other.pread(7000, 12345) == b"durable" * 1000
                    assert other.pread(7000, 1 << 29) == b"flushed" * 1000
                    other.shutdown()
                    """);
        }
    }

    @Test
    void blockStatusDescribesTheRangeAndHonoursReqOne() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "memory", "16M")) {
            nbdsh(server, """
                    M = 1 << 20
                    h.pwrite(b"\\x01" * M, M)
                    h.pwrite(b"\\x02" * (2 * M), 8 * M)
                    def kind(off):
                        return 0 if M <= off < 2 * M or 8 * M <= off < 10 * M else 3
                    # Without REQ_ONE: consecutive extents from the offset, each of one kind.
                    for count, offset in [(16 * M, 0), (M + 512, M // 2), (3 * M, 7 * M + 4096)]:
                        ext = extents(count, offset)
                        assert ext, (count, offset)
                        pos = offset
                        for length, flags in ext:
                            assert length > 0, ext
                            assert flags == kind(pos) == kind(pos + length - 1), (offset, ext)
                            pos += length
                        assert pos <= 16 * M, ext
                    assert len(extents(16 * M, 0)) >= 5
                    # With REQ_ONE: exactly one extent, no longer than asked.
                    for count, offset, want in [(M, M - 4096, 3), (5000, M + 100, 0), (16 * M, 0, 3),
                                                (4 * M, 8 * M, 0), (1, 16 * M - 1, 3)]:
                        ext = extents(count, offset, nbd.CMD_FLAG_REQ_ONE)
                        assert len(ext) == 1, (count, offset, ext)
                        length, flags = ext[0]
                        assert 0 < length <= count, (count, offset, ext)
                        assert flags == want == kind(offset + length - 1), (count, offset, ext)
                    """);
        }
    }

    @Test
    void dfReadsArriveAsOneDataChunk() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "memory", "1M")) {
            nbdsh(server, """
                    K = 1024
                    h.pwrite(b"a" * (4 * K), 0)
                    h.pwrite(b"b" * (4 * K), 512 * K)
                    want = b"a" * (4 * K) + bytes(508 * K) + b"b" * (4 * K) + bytes(508 * K)
                    def chunks(flags):
                        got = []
                        def cb(buf, off, status, err):
                            got.append((off, len(buf), status, bytes(buf)))
                            return 0
                        buf = h.pread_structured(1024 * K, 0, cb, flags=flags)
                        assert buf == want
                        return got
                    sparse = chunks(0)
                    assert any(status == nbd.READ_HOLE for _, _, status, _ in sparse), [c[:3] for c in sparse]
                    assert sum(n for _, n, _, _ in sparse) == 1024 * K
                    df = chunks(nbd.CMD_FLAG_DF)
                    assert [(o, n, s) for o, n, s, _ in df] == [(0, 1024 * K, nbd.READ_DATA)], [c[:3] for c in df]
                    assert df[0][3] == want
                    """);
        }
    }

    @Test
    void badRequestsFailWithTheRightErrnoAndTheConnectionSurvives() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "memory", "1G")) {
            nbdsh(server, """
                    h.set_strict_mode(0)
                    size = h.get_size()
                    cases = [
                        ("EINVAL", lambda: h.pread(4096, size - 100)),
                        ("EINVAL", lambda: h.pread(1, size)),
                        ("ENOSPC", lambda: h.pwrite(b"x" * 4096, size - 100)),
                        ("ENOSPC", lambda: h.pwrite(b"x", size)),
                        ("EINVAL", lambda: h.pread(0, 0)),
                        ("ENOSPC", lambda: h.zero(8192, size - 100)),
                        ("EINVAL", lambda: h.trim(8192, size - 100)),
                        ("EINVAL", lambda: h.cache(8192, size - 100)),
                        ("EINVAL", lambda: extents(8192, size - 100)),
                    ]
                    for name, f in cases:
                        expect_error(name, f)
                        still_serving()
                    """);
            assertThat(server.log()).contains("ENOSPC").contains("EINVAL");
        }
    }

    /**
     * Regression: a build of this server answered structured READs shorter than 4 KiB of a
     * never-written range after a refused WRITE with a data chunk holding a byte of the refused
     * payload ({@code x\0\0\0} instead of zeroes), on every second read.
     */
    @Test
    void refusedWritePayloadNeverLeaksIntoLaterReads() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "memory", "1G")) {
            nbdsh(server, """
                    h.set_strict_mode(0)
                    size = h.get_size()
                    for n in [1, 4, 100, 4096, 65536]:
                        expect_error("ENOSPC", lambda: h.pwrite(b"x" * n, size - n // 2))
                        for length in [1, 4, 512, 4095, 4096, 65536]:
                            for _ in range(4):
                                got = h.pread(length, 0)
                                assert got == bytes(length), (n, length, bytes(got[:16]))
                    """);
        }
    }

    @Test
    void readOnlyExportRefusesWritesWithEperm() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "-r", "memory", "1G")) {
            nbdsh(server, """
                    h.set_strict_mode(0)
                    assert h.is_read_only()
                    for f in [lambda: h.pwrite(b"x" * 4096, 0), lambda: h.trim(4096, 0),
                              lambda: h.zero(4096, 0), lambda: h.pwrite(b"y", 1 << 29)]:
                        expect_error("EPERM", f)
                        assert h.pread(4096, 0) == bytes(4096)
                    h.flush()
                    """);
        }
    }

    @Test
    void patternWordsHoldTheirOwnOffsets() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "pattern", "1G")) {
            nbdsh(server, patternCheck("""
                    for off, n in [(0, 4096), (1, 7), (12345, 100000), (7, 1), ((1 << 30) - 4099, 4099),
                                   (123456789, 8 * 1024 * 1024 + 3)]:
                        check(off, n)
                    """));
        }
    }

    @Test
    void patternIsRightUpToTheLastByteOfTheLargestDisk() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "pattern", Long.toString(Long.MAX_VALUE))) {
            nbdsh(server, patternCheck("""
                    assert size == (1 << 63) - 1
                    for off, n in [(size - 4099, 4099), (size - 7, 7), (size - 1, 1), (size - (1 << 20) - 3, 1 << 20),
                                   (1 << 62, 4096), ((1 << 62) - 5, 10)]:
                        check(off, n)
                    assert h.pread(7, size - 7) == bytes.fromhex("7fffffffffffff")
                    """));
        }
    }

    @Test
    void fileBackendStaysSparseAtOneTebibyte() throws Exception {
        Path image = dir.resolve("disk.img");
        long size = 1L << 40;
        try (SproutServer server = SproutServer.start(dir, "file", image.toString(), "size=1T")) {
            nbdsh(server, """
                    assert h.get_size() == %d
                    h.pwrite(b"middle" * 1000, 1 << 39)
                    h.pwrite(b"end!", h.get_size() - 4)
                    h.zero(1 << 30, 1 << 35)
                    h.flush()
                    assert h.pread(6000, 1 << 39) == b"middle" * 1000
                    assert h.pread(4, h.get_size() - 4) == b"end!"
                    assert h.pread(1 << 20, 1 << 35) == bytes(1 << 20)
                    """.formatted(size));
        }
        assertThat(Files.size(image)).isEqualTo(size);
        assertThat(Cmd.allocatedBytes(image)).as("bytes allocated to a 1 TiB image holding 6 KB").isLessThan(1L << 20);
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "r")) {
            byte[] middle = new byte[6000];
            file.seek(1L << 39);
            file.readFully(middle);
            assertThat(new String(middle, StandardCharsets.US_ASCII)).isEqualTo("middle".repeat(1000));
            byte[] end = new byte[4];
            file.seek(size - 4);
            file.readFully(end);
            assertThat(end).isEqualTo("end!".getBytes(StandardCharsets.US_ASCII));
        }
    }

    @Test
    void fileBackendTrimPunchesHolesAndNoHoleZeroKeepsBlocks() throws Exception {
        Path image = dir.resolve("disk.img");
        long M = 1 << 20;
        // ext4 counts its extent-tree blocks in st_blocks: a punched hole can cost a block or two.
        long metadata = 64 * 1024;
        try (SproutServer server = SproutServer.start(dir, "file", image.toString(), "size=64M")) {
            nbdsh(server, """
                    h.pwrite(os.urandom(32 << 20), 0)
                    h.flush()
                    """);
            long full = Cmd.allocatedBytes(image);
            assertThat(full).isGreaterThanOrEqualTo(32 * M);

            nbdsh(server, "h.trim(8 << 20, 4 << 20)\nassert h.pread(8 << 20, 4 << 20) == bytes(8 << 20)");
            long trimmed = Cmd.allocatedBytes(image);
            assertThat(full - trimmed).as("bytes freed by trimming 8 MiB").isGreaterThanOrEqualTo(8 * M - metadata);

            nbdsh(server, """
                    h.zero(16 << 20, 4 << 20, flags=nbd.CMD_FLAG_NO_HOLE)
                    assert h.pread(16 << 20, 4 << 20) == bytes(16 << 20)
                    """);
            long provisioned = Cmd.allocatedBytes(image);
            assertThat(provisioned - trimmed).as("NO_HOLE must provision the trimmed 8 MiB again")
                    .isGreaterThanOrEqualTo(8 * M - metadata);

            nbdsh(server, """
                    h.zero(24 << 20, 8 << 20)
                    assert h.pread(24 << 20, 8 << 20) == bytes(24 << 20)
                    """);
            assertThat(provisioned - Cmd.allocatedBytes(image)).as("bytes freed by a plain zero of 24 MiB")
                    .isGreaterThanOrEqualTo(24 * M - metadata);
        }
    }

    /** A script that defines {@code size} and {@code check(off, n)} for the pattern backend. */
    private static String patternCheck(String body) {
        return """
                size = h.get_size()
                def check(off, n):
                    first = off - off % 8
                    words = b"".join(w.to_bytes(8, "big") for w in range(first, off + n, 8))
                    want = words[off - first:off - first + n]
                    got = h.pread(n, off)
                    assert got == want, (off, n, bytes(got[:16]).hex(), want[:16].hex())
                """ + body;
    }

    private static void nbdsh(SproutServer server, String script) {
        nbdsh(server, "", script);
    }

    private static void nbdsh(SproutServer server, String context, String script) {
        Cmd.Result result = Cmd.run(Cmd.TIMEOUT, "nbdsh", "--base-allocation", "-u", server.uri(), "-c", PRELUDE + script);
        if (result.exitCode() != 0) {
            throw new AssertionError(context + "\n" + result + "\n--- server log:\n" + server.log());
        }
    }
}
