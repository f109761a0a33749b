package dev.sprout.format.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.block.ZeroFlags;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Qcow2Check} agrees with {@code qemu-img check} on clean images of many shapes, and never writes. */
class Qcow2CheckTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"cluster_size=512", "cluster_size=2M", "refcount_bits=1", "refcount_bits=64",
        "compat=0.10", "lazy_refcounts=on", "compression_type=zstd"})
    void qemuImagesOfEveryShapeAreClean(String options) throws IOException {
        Path truth = dir.resolve("truth.img");
        byte[] bytes = new byte[4 << 20];
        Random random = new Random(7);
        for (int at = 0; at < bytes.length; at += 65536) {
            if (random.nextBoolean()) {
                for (int i = 0; i < 4096; i++) {
                    bytes[at + i] = (byte) (i % 3 == 0 ? random.nextInt() : at >> 16);
                }
            }
        }
        Files.write(truth, bytes);
        Path image = dir.resolve("image.qcow2");
        Qemu.run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", "-c", "-o", options, truth.toString(),
                image.toString()).assertSuccess();
        Qemu.run("qemu-io", "-f", "qcow2", "-c", "write -P 1 1M 192k", "-c", "write -z 2M 128k", image.toString())
                .assertSuccess();
        Qemu.assertClean(image);
        byte[] before = Files.readAllBytes(image);
        Qcow2Check.Result result = Qcow2Check.check(image);
        assertThat(result.messages()).isEmpty();
        assertThat(result.summary() + "\n" + result.allocation() + "\n").as("same text as qemu-img check")
                .isEqualTo(Qemu.run("qemu-img", "check", image.toString()).stdout());
        assertThat(result.exitCode()).isZero();
        assertThat(Files.readAllBytes(image)).isEqualTo(before);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 8, 16, 64})
    void leaksAreRepairedAtEveryRefcountWidth(int bits) throws IOException {
        Path image = dir.resolve("leak.qcow2");
        Qemu.run("qemu-img", "create", "-f", "qcow2", "-o", "refcount_bits=" + bits, image.toString(), "16M").assertSuccess();
        Qemu.run("qemu-io", "-f", "qcow2", "-c", "write -P 3 0 128k", image.toString()).assertSuccess();
        Path copy = Files.copy(image, dir.resolve("copy.qcow2"));
        long leaked;
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(image,
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            leaked = channel.size() / 65536;
            channel.write(ByteBuffer.allocate(65536), leaked * 65536);
            ByteBuffer word = ByteBuffer.allocate(8);
            channel.read(word, 48);
            long table = word.getLong(0);
            channel.read(word.clear(), table);
            long block = word.getLong(0) & Tables.OFFSET_MASK;
            long bit = leaked * bits;
            ByteBuffer one = ByteBuffer.allocate(Math.max(1, bits / 8));
            channel.read(one, block + bit / 8);
            if (bits >= 8) {
                one.put(one.capacity() - 1, (byte) 1);
            } else {
                one.put(0, (byte) (one.get(0) | 1 << (bit % 8)));
            }
            channel.write(one.clear(), block + bit / 8);
        }
        assertThat(Qemu.run("qemu-img", "check", image.toString()).exitCode()).isEqualTo(3);
        Qcow2Check.Result found = Qcow2Check.check(image);
        assertThat(found.exitCode()).isEqualTo(3);
        assertThat(found.messages()).containsExactly("Leaked cluster " + leaked + " refcount=1 reference=0");
        assertThat(Qcow2Check.repair(image, found).clean()).isTrue();
        Qemu.assertClean(image);
        Qemu.run("qemu-img", "compare", copy.toString(), image.toString()).assertSuccess();
    }

    @Test
    void imagesSproutWroteAreClean() throws IOException {
        Path image = dir.resolve("sprout.qcow2");
        Qcow2Image.create(image, 64L << 20, Optional.empty(), 4096);
        Random random = new Random(3);
        try (Qcow2Image disk = Qcow2Image.open(image, false)) {
            for (int i = 0; i < 400; i++) {
                long offset = random.nextInt(64 << 20 >> 12) * 4096L;
                int length = (1 + random.nextInt(8)) * 4096;
                switch (random.nextInt(4)) {
                    case 0 -> disk.trim(offset, Math.min(length, disk.size() - offset), false);
                    case 1 -> disk.zero(offset, Math.min(length, disk.size() - offset), ZeroFlags.PUNCH);
                    default -> {
                        byte[] data = new byte[(int) Math.min(length, disk.size() - offset)];
                        random.nextBytes(data);
                        disk.write(offset, ByteBuffer.wrap(data), false);
                    }
                }
            }
            disk.flush();
        }
        Qemu.assertClean(image);
        Qcow2Check.Result result = Qcow2Check.check(image);
        assertThat(result.messages()).isEmpty();
        assertThat(result.clean()).isTrue();
    }
}
