package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** libnbd's {@code nbdcopy}: whole images in and out, over one connection and over four. */
class NbdcopyIT {

    private static final long MiB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void sparseImageCopiedInAndOutIsIdentical() throws Exception {
        long seed = System.nanoTime();
        Path source = sparseRandomImage(dir.resolve("source.img"), 64 * MiB, seed);
        Path copy = dir.resolve("copy.img");
        try (SproutServer server = SproutServer.start(dir, "memory", "64M")) {
            Cmd.run("nbdcopy", "--flush", source.toString(), server.uri()).assertSuccess();
            Cmd.run("nbdcopy", server.uri(), copy.toString()).assertSuccess();

            String totals = Cmd.run("nbdinfo", "--map", "--totals", server.uri()).assertSuccess().stdout();
            assertThat(totals).as("holes of the source stay holes in the export (seed %d)", seed)
                    .containsPattern("\\d+\\s+\\d+\\.\\d+%\\s+3 hole,zero");
        }
        assertIdentical(source, copy, seed);
        assertThat(Cmd.allocatedBytes(copy)).as("the copy is sparse").isLessThan(40 * MiB);
    }

    @Test
    void fourConnectionsCopyInAndOut() throws Exception {
        long seed = System.nanoTime();
        Path source = sparseRandomImage(dir.resolve("source.img"), 64 * MiB, seed);
        Path copy = dir.resolve("copy.img");
        try (SproutServer server = SproutServer.start(dir, "memory", "64M")) {
            Cmd.Result in = Cmd.run("nbdcopy", "--verbose", "--connections=4", "--threads=4", "--flush",
                    source.toString(), server.uri()).assertSuccess();
            assertThat(in.stderr()).as("nbdcopy uses 4 connections only if the server offers multi-conn")
                    .contains("connections=4").contains("dst3: nbd_connect_uri: leave: ret=0");

            Cmd.Result out = Cmd.run("nbdcopy", "--verbose", "--connections=4", "--threads=4",
                    server.uri(), copy.toString()).assertSuccess();
            assertThat(out.stderr()).contains("connections=4").contains("src3: nbd_connect_uri: leave: ret=0");
        }
        assertIdentical(source, copy, seed);
    }

    @Test
    void copyingOutOfALargeMostlyEmptyExportIsFastAndSparse() throws Exception {
        Path copy = dir.resolve("copy.img");
        try (SproutServer server = SproutServer.start(dir, "memory", "16G")) {
            Cmd.nbdsh(server.uri(), """
                    for off in [0, 5 << 30, (16 << 30) - 4096]:
                        h.pwrite(b"sprout!!" * 512, off)
                    """);
            long start = System.nanoTime();
            Cmd.run(Duration.ofSeconds(30), "nbdcopy", server.uri(), copy.toString()).assertSuccess();
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(took).as("copying 16 GiB holding 12 KiB of data").isLessThan(Duration.ofSeconds(15));
        }
        assertThat(Files.size(copy)).isEqualTo(16L << 30);
        assertThat(Cmd.allocatedBytes(copy)).as("allocated to the copy").isLessThan(8 * MiB);
        try (RandomAccessFile file = new RandomAccessFile(copy.toFile(), "r")) {
            for (long off : new long[] {0, 5L << 30, (16L << 30) - 4096}) {
                byte[] got = new byte[4096];
                file.seek(off);
                file.readFully(got);
                assertThat(new String(got, StandardCharsets.US_ASCII))
                        .as("at %d", off).isEqualTo("sprout!!".repeat(512));
            }
            byte[] between = new byte[1 << 16];
            file.seek(3L << 30);
            file.readFully(between);
            assertThat(between).containsOnly(0);
        }
    }

    /**
     * A file of {@code size} bytes with random data in random runs (some unaligned, about a
     * quarter of it) and holes between them.
     */
    static Path sparseRandomImage(Path path, long size, long seed) throws IOException {
        Random random = new Random(seed);
        try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
            file.setLength(size);
            long written = 0;
            while (written < size / 4) {
                int length = 1 + random.nextInt((int) MiB);
                long offset = random.nextBoolean()
                        ? random.nextLong(size - length)
                        : random.nextLong(size / MiB) * MiB;
                length = (int) Math.min(length, size - offset);
                byte[] data = new byte[length];
                random.nextBytes(data);
                file.seek(offset);
                file.write(data);
                written += length;
            }
        }
        return path;
    }

    static void assertIdentical(Path expected, Path actual, long seed) {
        Cmd.Result cmp = Cmd.run("cmp", expected.toString(), actual.toString());
        assertThat(cmp.exitCode()).as("cmp (seed %d): %s", seed, cmp).isZero();
    }
}
