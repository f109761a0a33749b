package dev.sprout.format.qcow2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.tool.ImageOpener;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Images qemu-img made read byte for byte like the raw truth they were made from. */
class QemuImagesTest {

    private static final int SIZE = 8 << 20;

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"512", "4096", "65536", "2M"})
    void readsConvertedImagesOfEveryClusterSize(String clusterSize) throws IOException {
        Path truth = truth(dir.resolve("truth.img"), 1);
        Path image = dir.resolve("image.qcow2");
        Qemu.run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=" + clusterSize,
                truth.toString(), image.toString()).assertSuccess();
        assertReadsLike(image, Files.readAllBytes(truth));
    }

    @Test
    void readsVersion2Images() throws IOException {
        Path truth = truth(dir.resolve("truth.img"), 2);
        Path image = dir.resolve("image.qcow2");
        Qemu.run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", "-o", "compat=0.10", truth.toString(), image.toString())
                .assertSuccess();
        assertReadsLike(image, Files.readAllBytes(truth));
        assertThatThrownBy(() -> Qcow2Image.open(image, false, ImageOpener.BACKING_FILES)).hasMessageContaining("version 2");
    }

    @ParameterizedTest
    @ValueSource(strings = {"zlib", "zstd"})
    void readsCompressedImages(String type) throws IOException {
        Path truth = truth(dir.resolve("truth.img"), 3);
        Path image = dir.resolve("image.qcow2");
        Qemu.run("qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", "-o", "compression_type=" + type,
                truth.toString(), image.toString()).assertSuccess();
        assertReadsLike(image, Files.readAllBytes(truth));
    }

    @Test
    void readsZeroClustersAndABackingChainOfDepthTwo() throws IOException {
        Path base = truth(dir.resolve("base.img"), 4);
        Qemu.run("qemu-img", "create", "-f", "qcow2", "-b", "base.img", "-F", "raw", dir.resolve("mid.qcow2").toString())
                .assertSuccess();
        Qemu.run("qemu-io", "-f", "qcow2", "-c", "write -P 0x11 1M 300k", "-c", "write -z 3M 1M",
                dir.resolve("mid.qcow2").toString()).assertSuccess();
        Qemu.run("qemu-img", "create", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", dir.resolve("top.qcow2").toString())
                .assertSuccess();
        Qemu.run("qemu-io", "-f", "qcow2", "-c", "write -P 0x22 1200k 64k", "-c", "write -z -u 5M 128k",
                "-c", "write -z 6M 64k", dir.resolve("top.qcow2").toString()).assertSuccess();
        byte[] expected = Files.readAllBytes(base);
        fill(expected, 1 << 20, 300 << 10, 0x11);
        fill(expected, 3 << 20, 1 << 20, 0);
        fill(expected, 1200 << 10, 64 << 10, 0x22);
        fill(expected, 5 << 20, 128 << 10, 0);
        fill(expected, 6 << 20, 64 << 10, 0);
        assertReadsLike(dir.resolve("top.qcow2"), expected);
        try (Qcow2Image top = Qcow2Image.open(dir.resolve("top.qcow2"), true, ImageOpener.BACKING_FILES)) {
            assertThat(top.info().backingChain()).containsExactly(
                    "Qcow2(" + dir.resolve("mid.qcow2") + ")", "File(" + dir.resolve("base.img") + ")");
        }
    }

    @Test
    void refusesFeaturesItCannotReadNamingThem() throws IOException {
        Path image = dir.resolve("ext.qcow2");
        Qemu.run("qemu-img", "create", "-f", "qcow2", "-o", "extended_l2=on", image.toString(), "1M").assertSuccess();
        assertThatThrownBy(() -> Qcow2Image.open(image, true, ImageOpener.BACKING_FILES)).hasMessageContaining("extended L2");
        Path data = dir.resolve("data.qcow2");
        Qemu.run("qemu-img", "create", "-f", "qcow2", "-o", "data_file=" + dir.resolve("data.raw"), data.toString(), "1M")
                .assertSuccess();
        assertThatThrownBy(() -> Qcow2Image.open(data, true, ImageOpener.BACKING_FILES)).hasMessageContaining("external data file");
        Path luks = dir.resolve("luks.qcow2");
        Qemu.run("qemu-img", "create", "-f", "qcow2", luks.toString(), "1M").assertSuccess();
        try (var channel = java.nio.channels.FileChannel.open(luks, java.nio.file.StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.allocate(4).putInt(0, 2), 32); // crypt_method: LUKS
        }
        assertThatThrownBy(() -> Qcow2Image.open(luks, true, ImageOpener.BACKING_FILES)).hasMessageContaining("encrypted (LUKS)");
    }

    /** Reads the image whole and in odd pieces, and checks that extents agree with the content. */
    static void assertReadsLike(Path image, byte[] expected) throws IOException {
        try (BlockDevice device = Qcow2Image.open(image, true, ImageOpener.BACKING_FILES)) {
            assertThat(device.size()).isEqualTo(expected.length);
            ByteBuffer all = ByteBuffer.allocate(expected.length);
            device.read(0, all);
            assertThat(firstDifference(all.array(), expected)).as("first differing byte of %s", image).isEqualTo(-1);
            Random random = new Random(7);
            for (int i = 0; i < 200; i++) {
                int offset = random.nextInt(expected.length);
                int length = 1 + random.nextInt(Math.min(200_000, expected.length - offset));
                ByteBuffer part = ByteBuffer.allocate(length);
                device.read(offset, part);
                for (int k = 0; k < length; k++) {
                    if (part.get(k) != expected[offset + k]) {
                        throw new AssertionError(image + ": byte " + (offset + k) + " read in a piece differs");
                    }
                }
            }
            for (Extent e : allExtents(device)) {
                if (e.zero()) {
                    for (long k = e.offset(); k < e.end(); k++) {
                        if (expected[(int) k] != 0) {
                            throw new AssertionError(image + ": extent " + e + " says zero but byte " + k + " is not");
                        }
                    }
                }
            }
        }
    }

    static List<Extent> allExtents(BlockDevice device) throws IOException {
        List<Extent> all = new ArrayList<>();
        long at = 0;
        while (at < device.size()) {
            List<Extent> some = device.extents(at, device.size() - at);
            assertThat(some.getFirst().offset()).isEqualTo(at);
            all.addAll(some);
            at = some.getLast().end();
        }
        return all;
    }

    /** Random data with zero runs and holes, some of it compressible. */
    static Path truth(Path file, long seed) throws IOException {
        Random random = new Random(seed);
        byte[] bytes = new byte[SIZE];
        for (int at = 0; at < SIZE; at += 64 << 10) {
            switch (random.nextInt(4)) {
                case 0 -> { }
                case 1 -> fill(bytes, at, 64 << 10, random.nextInt(256));
                default -> {
                    byte[] chunk = new byte[64 << 10];
                    random.nextBytes(chunk);
                    System.arraycopy(chunk, 0, bytes, at, chunk.length);
                }
            }
        }
        Files.write(file, bytes);
        return file;
    }

    static void fill(byte[] bytes, int offset, int length, int value) {
        java.util.Arrays.fill(bytes, offset, offset + length, (byte) value);
    }

    static int firstDifference(byte[] a, byte[] b) {
        int mismatch = java.util.Arrays.mismatch(a, b);
        return mismatch;
    }
}
