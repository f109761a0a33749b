package dev.sprout.format.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.block.BlockDevice;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A lazy-refcounts image that qemu-io left dirty when it was killed with SIGKILL (its refcounts
 * stale, so {@code qemu-img check} reports errors) opens writable in sprout, which rebuilds the
 * refcounts from the L1 and L2 tables and clears the dirty bit: afterwards {@code qemu-img check}
 * finds nothing, what qemu-io flushed reads back, and sprout's own writes land.
 */
class DirtyImageTest {

    private static final int MiB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void dirtyLazyRefcountImageKilledInQemuIoIsRepairedOnWritableOpen() throws Exception {
        Path image = dir.resolve("lazy.qcow2");
        Qemu.run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=on", image.toString(), "64M")
                .assertSuccess();
        killQemuIoAfter(image, "wrote 2097152/2097152 bytes at offset 20971520",
                "write -P 0x11 0 4M", "write -P 0x22 10M 1M", "flush", "write -P 0x33 20M 2M", "sleep 60000");
        assertThat(incompatibleFeatures(image) & Qcow2Header.DIRTY).as("qemu-io left the dirty bit").isNotZero();
        assertThat(Qemu.run("qemu-img", "check", image.toString()).exitCode()).as("stale refcounts before").isEqualTo(2);

        try (BlockDevice device = Qcow2Image.open(image, false)) {
            assertThat(incompatibleFeatures(image) & Qcow2Header.DIRTY).as("dirty bit after opening").isZero();
            assertThat(read(device, 0, 4 * MiB)).containsOnly(0x11);
            assertThat(read(device, 10 * MiB, MiB)).containsOnly(0x22);
            device.write(30 * MiB, ByteBuffer.wrap(filled(MiB, 0x44)), false);
        }
        Qemu.assertClean(image);
        try (BlockDevice device = Qcow2Image.open(image, true)) {
            assertThat(read(device, 0, 4 * MiB)).containsOnly(0x11);
            assertThat(read(device, 30 * MiB, MiB)).containsOnly(0x44);
        }
    }

    /** Runs qemu-io (line-buffered, so its output comes as it works) and kills it with SIGKILL once it printed {@code line}. */
    private static void killQemuIoAfter(Path image, String line, String... commands) throws Exception {
        List<String> args = new java.util.ArrayList<>(List.of("stdbuf", "-oL", "qemu-io", "-f", "qcow2"));
        for (String c : commands) {
            args.addAll(List.of("-c", c));
        }
        args.add(image.toString());
        Process qemuIo = new ProcessBuilder(args).redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(qemuIo.getInputStream(), StandardCharsets.UTF_8))) {
            String printed;
            while ((printed = out.readLine()) != null && !printed.contains(line)) {
                // wait for the line
            }
            assertThat(printed).as("qemu-io's output").isNotNull();
        } finally {
            qemuIo.destroyForcibly();
            qemuIo.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private static long incompatibleFeatures(Path image) throws Exception {
        try (FileChannel channel = FileChannel.open(image)) {
            ByteBuffer field = ByteBuffer.allocate(8);
            channel.read(field, 72);
            return field.getLong(0);
        }
    }

    private static byte[] read(BlockDevice device, long offset, int length) throws Exception {
        ByteBuffer bytes = ByteBuffer.allocate(length);
        device.read(offset, bytes);
        return bytes.array();
    }

    private static byte[] filled(int length, int value) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) value);
        return bytes;
    }
}
