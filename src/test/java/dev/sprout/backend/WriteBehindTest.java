package dev.sprout.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file device in write-behind mode (a copy's new destination) keeps at most about its window
 * (and one batch) of written data in the page cache, as fincore(1) counts it, and every byte reads
 * back; the same writes without it leave all of them cached. A file in tmpfs is not written behind.
 */
class WriteBehindTest {

    /** Bytes each test writes. */
    private static final int SIZE = 128 << 20;

    @TempDir
    Path dir;

    @Test
    void writtenDataLeavesThePageCacheBeyondTheWindowAndReadsBack() throws Exception {
        writeAndCheck(1 << 20, false);
    }

    /** Small writes, each pair written out of order, are batched and joined; none is left behind. */
    @Test
    void smallWritesOutOfOrderLeaveThePageCacheToo() throws Exception {
        writeAndCheck(64 << 10, true);
    }

    /** A file in memory has no disk to write behind to; one on a disk does. */
    @Test
    void onlyAFileOnADiskIsWrittenBehind() throws IOException {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "no /dev/shm");
        Path inMemory = Files.createTempFile(shm, "sprout-behind", ".img");
        try {
            for (Path file : new Path[] {inMemory, dir.resolve("on-disk.img")}) {
                boolean onTmpfs = Files.getFileStore(file.getParent()).type().equals("tmpfs");
                try (FileBlockDevice device = FileBlockDevice.open(file, false, OptionalLong.of(1 << 20))) {
                    device.writeBehind();
                    device.write(0, ByteBuffer.wrap(chunk(0, 1 << 20)), false);
                    assertThat(device.writesBehind()).as("%s", file).isEqualTo(!onTmpfs);
                }
            }
        } finally {
            Files.delete(inMemory);
        }
    }

    @Test
    void rangesOfABatchAreJoinedInOffsetOrderAcrossGapsShorterThanTheLimit() {
        long gap = WriteBehind.GAP;
        List<WriteBehind.Range> ranges = List.of(range(8, 4), range(0, 4), range(4, 4), range(12 + gap - 1, 4),
                range(100 * gap, 8), range(100 * gap + 2, 2), range(102 * gap, 1));
        assertThat(WriteBehind.joined(ranges)).containsExactly(range(0, 12 + gap + 3), range(100 * gap, 8), range(102 * gap, 1));
    }

    private static WriteBehind.Range range(long offset, long length) {
        return new WriteBehind.Range(offset, length);
    }

    private void writeAndCheck(int chunkSize, boolean swapPairs) throws Exception {
        assumeFalse(Files.getFileStore(dir).type().equals("tmpfs"), "tmpfs pages never leave the page cache");
        Path behind = dir.resolve("behind.img");
        Path plain = dir.resolve("plain.img");
        int chunks = SIZE / chunkSize;
        try (FileBlockDevice device = FileBlockDevice.open(behind, false, OptionalLong.of(SIZE));
             FileBlockDevice control = FileBlockDevice.open(plain, false, OptionalLong.of(SIZE))) {
            device.writeBehind();
            for (int n = 0; n < chunks; n++) {
                int i = swapPairs ? n ^ 1 : n;
                device.write((long) i * chunkSize, ByteBuffer.wrap(chunk(i, chunkSize)), false);
                control.write((long) i * chunkSize, ByteBuffer.wrap(chunk(i, chunkSize)), false);
            }
        } // closing waits for the write-behind calls under way

        long bound = WriteBehind.WINDOW + WriteBehind.BATCH + (4 << 20);
        assertThat(cachedBytes(behind)).isLessThanOrEqualTo(bound);
        assertThat(cachedBytes(plain)).as("the same writes without write-behind").isGreaterThan(bound);
        try (FileBlockDevice device = FileBlockDevice.open(behind, true)) {
            for (int i = 0; i < chunks; i++) {
                ByteBuffer read = ByteBuffer.allocate(chunkSize);
                device.read((long) i * chunkSize, read);
                assertThat(read.array()).as("chunk %d", i).isEqualTo(chunk(i, chunkSize));
            }
        }
    }

    private static byte[] chunk(int index, int size) {
        byte[] data = new byte[size];
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
