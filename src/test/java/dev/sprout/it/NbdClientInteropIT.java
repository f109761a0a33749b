package dev.sprout.it;

import dev.sprout.block.Extent;
import dev.sprout.block.ZeroFlags;
import dev.sprout.client.NbdBlockDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/** sprout's NBD client ({@code dev.sprout.client}) against nbdkit and qemu-nbd as servers. */
class NbdClientInteropIT {

    private static final int MiB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void nbdkitMemoryRoundTripsPipelinedWritesZeroesAndBlockStatus() throws Exception {
        Path socket = dir.resolve("kit.sock");
        try (Server ignored = Server.start(dir, socket, "nbdkit", "-f", "-U", socket.toString(), "memory", "1G");
             NbdBlockDevice device = NbdBlockDevice.connect("nbd+unix:///?socket=" + socket)) {
            assertThat(device.size()).isEqualTo(1L << 30);
            assertThat(device.info().structuredReplies()).isTrue();
            assertThat(device.info().contexts()).contains("base:allocation");
            writeReadConcurrently(device);
            device.zero(0, 2 * MiB, ZeroFlags.PUNCH);
            ByteBuffer back = ByteBuffer.allocate(2 * MiB);
            device.read(0, back);
            assertThat(back.array()).containsOnly(0);
            List<Extent> extents = device.extents(0, 1L << 30);
            assertThat(extents.getFirst()).satisfies(e -> assertThat(e.zero()).isTrue());
            assertThat(extents).anyMatch(e -> !e.zero() && e.offset() <= 4L * MiB && e.end() > 4L * MiB);
        }
    }

    @Test
    void nbdkitWithoutStructuredRepliesOrFixedNewstyleStillServesTheClient() throws Exception {
        for (String option : List.of("--no-sr", "--mask-handshake=0")) {
            Path socket = dir.resolve("kit" + option.length() + ".sock");
            try (Server ignored = Server.start(dir, socket, "nbdkit", "-f", option, "-U", socket.toString(), "memory", "64M");
                 NbdBlockDevice device = NbdBlockDevice.connect("nbd+unix:///?socket=" + socket)) {
                assertThat(device.info().structuredReplies()).as(option).isFalse();
                assertThat(device.extents(0, 64 * MiB)).as(option).containsExactly(Extent.data(0, 64 * MiB));
                writeReadConcurrently(device);
            }
        }
    }

    @Test
    void qemuNbdServesAFileWhoseHolesAndDataTheClientSees() throws Exception {
        Path image = dir.resolve("disk.img");
        byte[] data = new byte[3 * MiB];
        new Random(7).nextBytes(data);
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.setLength(64L * MiB);
            file.seek(10L * MiB);
            file.write(data);
        }
        Path socket = dir.resolve("qemu.sock");
        try (Server ignored = Server.start(dir, socket, "qemu-nbd", "-k", socket.toString(), "-f", "raw",
                "--persistent", image.toString());
             NbdBlockDevice device = NbdBlockDevice.connect("nbd+unix:///?socket=" + socket)) {
            assertThat(device.size()).isEqualTo(64L * MiB);
            List<Extent> all = new ArrayList<>();
            for (long at = 0; at < device.size(); at = all.getLast().end()) {
                all.addAll(device.extents(at, device.size() - at));
            }
            assertThat(all).filteredOn(e -> !e.zero())
                    .containsExactly(Extent.data(10L * MiB, 3L * MiB));
            ByteBuffer back = ByteBuffer.allocate(4 * MiB);
            device.read(9L * MiB + 512, back);
            byte[] expected = new byte[4 * MiB];
            System.arraycopy(data, 0, expected, MiB - 512, data.length);
            assertThat(back.array()).isEqualTo(expected);
            writeReadConcurrently(device);
        }
    }

    /** 128 writes of 64 KiB from as many virtual threads, each read back. */
    private static void writeReadConcurrently(NbdBlockDevice device) throws Exception {
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < 128; i++) {
                int block = i;
                done.add(threads.submit(() -> {
                    byte[] bytes = new byte[64 * 1024];
                    Arrays.fill(bytes, (byte) (block + 1));
                    long offset = 4L * MiB + (long) block * bytes.length;
                    device.write(offset, ByteBuffer.wrap(bytes), false);
                    ByteBuffer back = ByteBuffer.allocate(bytes.length);
                    device.read(offset, back);
                    assertThat(back.array()).isEqualTo(bytes);
                    return null;
                }));
            }
            for (Future<?> future : done) {
                future.get();
            }
        }
        device.flush();
    }

    /** A server process in the foreground of its own, waited for until its socket exists, killed by PID. */
    record Server(Process process) implements AutoCloseable {

        static Server start(Path dir, Path socket, String... command) throws Exception {
            Process process = Cmd.spawn(dir.resolve(socket.getFileName() + ".log"), List.of(command));
            for (int i = 0; i < 500 && !Files.exists(socket); i++) {
                assertThat(process.isAlive()).as("%s; log: %s", List.of(command),
                        Files.exists(dir.resolve(socket.getFileName() + ".log"))
                                ? Files.readString(dir.resolve(socket.getFileName() + ".log")) : "").isTrue();
                Thread.sleep(20);
            }
            assertThat(socket).as("socket of %s", List.of(command)).exists();
            return new Server(process);
        }

        @Override
        public void close() throws InterruptedException {
            Cmd.kill(process);
        }
    }
}
