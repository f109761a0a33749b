package dev.sprout.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file device in write-behind mode (a copy's new destination) keeps at most about its window of
 * written data in the page cache, as fincore(1) counts it, and every byte reads back; the same
 * writes without it leave all of them cached.
 */
class WriteBehindTest {

    private static final int CHUNK = 1 << 20;
    private static final int CHUNKS = 128;

    @TempDir
    Path dir;

    @Test
    void writtenDataLeavesThePageCacheBeyondTheWindowAndReadsBack() throws Exception {
        assumeFalse(Files.getFileStore(dir).type().equals("tmpfs"), "tmpfs pages never leave the page cache");
        Path behind = dir.resolve("behind.img");
        Path plain = dir.resolve("plain.img");
        try (FileBlockDevice device = FileBlockDevice.open(behind, false, OptionalLong.of((long) CHUNK * CHUNKS));
             FileBlockDevice control = FileBlockDevice.open(plain, false, OptionalLong.of((long) CHUNK * CHUNKS))) {
            device.writeBehind();
            for (int i = 0; i < CHUNKS; i++) {
                device.write((long) i * CHUNK, ByteBuffer.wrap(chunk(i)), false);
                control.write((long) i * CHUNK, ByteBuffer.wrap(chunk(i)), false);
            }
        } // closing waits for the write-behind calls under way

        assertThat(cachedBytes(behind)).isLessThanOrEqualTo(WriteBehind.WINDOW + 4 * CHUNK);
        assertThat(cachedBytes(plain)).as("the same writes without write-behind")
                .isGreaterThan(WriteBehind.WINDOW + 4 * CHUNK);
        try (FileBlockDevice device = FileBlockDevice.open(behind, true)) {
            for (int i = 0; i < CHUNKS; i++) {
                ByteBuffer read = ByteBuffer.allocate(CHUNK);
                device.read((long) i * CHUNK, read);
                assertThat(read.array()).as("chunk %d", i).isEqualTo(chunk(i));
            }
        }
    }

    private static byte[] chunk(int index) {
        byte[] data = new byte[CHUNK];
        new Random(index).nextBytes(data);
        return data;
    }

    /** Bytes of the file in the page cache, as fincore(1) from util-linux counts them. */
    private static long cachedBytes(Path file) throws IOException, InterruptedException {
        Process fincore = new ProcessBuilder("fincore", "--bytes", "--noheadings", "--output", "RES", file.toString())
                .redirectErrorStream(true).start();
        String out = new String(fincore.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertThat(fincore.waitFor()).as("fincore: %s", out).isZero();
        return Long.parseLong(out);
    }
}
