package dev.sprout.format.qcow2;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Compressed seed images read back by sprout's own reader, clean for sprout check, reproducible. */
class CompressedImageWriterTest {

    private static final int KiB = 1024;
    private static final int MiB = 1024 * KiB;

    @TempDir
    Path dir;

    /**
     * 24 MiB + 1000 bytes (an odd size): text that compresses, random data that does not, a run of
     * written zeroes, holes, and data in the last, partial cluster.
     */
    private static MemoryBlockDevice source(long seed) throws Exception {
        MemoryBlockDevice device = MemoryBlockDevice.create(24L * MiB + 1000);
        Random random = new Random(seed);
        StringBuilder text = new StringBuilder();
        while (text.length() < 3 * MiB) {
            text.append("line ").append(random.nextInt(1000)).append(": the quick brown fox\n");
        }
        device.write(MiB + 77, ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.US_ASCII)), false);
        byte[] noise = new byte[2 * MiB + 5];
        random.nextBytes(noise);
        device.write(9L * MiB, ByteBuffer.wrap(noise), false);
        device.write(14L * MiB, ByteBuffer.wrap(new byte[4 * MiB]), false);
        byte[] tail = new byte[700];
        random.nextBytes(tail);
        device.write(24L * MiB + 300, ByteBuffer.wrap(tail), false);
        return device;
    }

    private static byte[] contents(BlockDevice device, long length) throws Exception {
        ByteBuffer bytes = ByteBuffer.allocate((int) length);
        device.read(0, bytes);
        return bytes.array();
    }

    @ParameterizedTest
    @EnumSource(Qcow2Compression.class)
    void readsBackAsTheSourceCleanAndByteIdenticalWhateverTheParallelism(Qcow2Compression compression) throws Exception {
        long seed = System.nanoTime();
        try (MemoryBlockDevice source = source(seed)) {
            Path one = dir.resolve("one.qcow2");
            Path many = dir.resolve("many.qcow2");
            CompressedImageWriter.Result result = CompressedImageWriter.write(source, one, compression, 1, false, n -> { });
            CompressedImageWriter.write(source, many, compression, 7, true, n -> { });

            assertThat(Files.readAllBytes(many)).as("seed %d", seed).isEqualTo(Files.readAllBytes(one));
            assertThat(result.fileBytes()).isEqualTo(Files.size(one)).isLessThan(10L * MiB);
            assertThat(Qcow2Check.check(one).clean()).as("sprout check, seed %d", seed).isTrue();
            try (Qcow2Image image = Qcow2Image.open(one, true)) {
                assertThat(image.size()).isEqualTo(24L * MiB + 1024); // rounded up to whole sectors
                assertThat(contents(image, source.size())).as("seed %d", seed).isEqualTo(contents(source, source.size()));
                assertThat(image.extents(14L * MiB, 4 * MiB)).as("the zero run stays unallocated")
                        .allMatch(Extent::zero);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Qcow2Compression.class)
    void anEmptyDeviceGivesAnImageWithNoClusters(Qcow2Compression compression) throws Exception {
        try (MemoryBlockDevice source = MemoryBlockDevice.create(1L << 40)) {
            Path image = dir.resolve("empty.qcow2");
            CompressedImageWriter.Result result = CompressedImageWriter.write(source, image, compression, 4, false, n -> { });
            assertThat(result.dataBytes()).isZero();
            assertThat(Qcow2Check.check(image).clean()).isTrue();
            try (Qcow2Image opened = Qcow2Image.open(image, true)) {
                assertThat(opened.extents(0, opened.size())).allMatch(Extent::zero);
            }
        }
    }
}
