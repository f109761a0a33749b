package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Host block devices as sources and destinations of the image tools: real loop devices
 * ({@code losetup}), checked with {@code qemu-img compare}, {@code blockdev} and the loop
 * device's backing file.
 */
class LoopDeviceIT {

    private static final long MiB = 1 << 20;

    @TempDir
    Path dir;

    private static Cmd.Result sprout(String... args) {
        return Cmd.run(SproutServer.command(args).toArray(String[]::new));
    }

    /** A loop device over {@code file}, detached on close. */
    private record Loop(String device) implements AutoCloseable {

        static Loop attach(Path file, int logicalBlockSize) {
            return new Loop(Cmd.run("losetup", "-f", "--show", "-b", Integer.toString(logicalBlockSize), file.toString())
                    .assertSuccess().stdout().strip());
        }

        @Override
        public void close() {
            Cmd.run("losetup", "-d", device).assertSuccess();
        }
    }

    /** A raw image with data at unaligned offsets, a written run of zeroes, and holes. */
    private Path source(String name, long size, long seed) throws Exception {
        Path path = dir.resolve(name);
        Random random = new Random(seed);
        try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
            file.setLength(size);
            for (long at = 1000; at < size - 4 * MiB; at += (1 + random.nextInt(8)) * MiB + random.nextInt(5000)) {
                byte[] data = new byte[1 + random.nextInt(300_000)];
                random.nextBytes(data);
                file.seek(at);
                file.write(data);
            }
            file.seek(size / 2 + 777);
            file.write(new byte[(int) (2 * MiB)]);
        }
        return path;
    }

    /** A file of {@code size} random bytes, all allocated: a used disk. */
    private Path garbage(String name, long size) throws Exception {
        Path path = dir.resolve(name);
        byte[] chunk = new byte[(int) MiB];
        Random random = new Random(1);
        try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
            for (long at = 0; at < size; at += MiB) {
                random.nextBytes(chunk);
                file.write(chunk);
            }
        }
        return path;
    }

    @Test
    void copyToALoopDeviceAndBackIsIdenticalAndPunchesTheHolesThrough() throws Exception {
        long seed = System.nanoTime();
        Path source = source("source.img", 64 * MiB, seed);
        Path backing = garbage("disk.img", 64 * MiB);
        try (Loop loop = Loop.attach(backing, 512)) {
            sprout("copy", source.toString(), loop.device()).assertSuccess();
            Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(), loop.device()).assertSuccess();
            // The holes became holes in the loop device's file, not written zeroes.
            assertThat(Cmd.allocatedBytes(backing)).as("seed %d", seed).isLessThan(Cmd.allocatedBytes(source) + 8 * MiB);

            Path back = dir.resolve("back.img");
            sprout("copy", loop.device(), back.toString()).assertSuccess();
            Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(), back.toString()).assertSuccess();
            Cmd.run("cmp", source.toString(), back.toString()).assertSuccess();
            assertThat(Cmd.allocatedBytes(back)).isLessThanOrEqualTo(Cmd.allocatedBytes(source) + MiB);

            Path qcow2 = dir.resolve("back.qcow2");
            sprout("copy", "-O", "qcow2", loop.device(), qcow2.toString()).assertSuccess();
            Cmd.run("qemu-img", "compare", "-f", "qcow2", "-F", "raw", qcow2.toString(), loop.device()).assertSuccess();
            assertThat(sprout("compare", qcow2.toString(), loop.device()).exitCode()).isZero();
        }
    }

    @Test
    void aQcow2ImageCopiesOntoADeviceWithFourKiBLogicalBlocks() throws Exception {
        Path source = source("source.img", 32 * MiB, 11);
        Path qcow2 = dir.resolve("source.qcow2");
        Cmd.run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", source.toString(), qcow2.toString()).assertSuccess();
        Cmd.run("qemu-io", "-f", "qcow2", "-c", "write -z 5M 1M", "-c", "write -P 3 7M 513", qcow2.toString()).assertSuccess();
        Path backing = garbage("disk.img", 32 * MiB);
        try (Loop loop = Loop.attach(backing, 4096)) {
            assertThat(Cmd.run("blockdev", "--getss", loop.device()).assertSuccess().stdout().strip()).isEqualTo("4096");
            sprout("copy", qcow2.toString(), loop.device()).assertSuccess();
            Cmd.run("qemu-img", "compare", "-f", "qcow2", "-F", "raw", qcow2.toString(), loop.device()).assertSuccess();
        }
    }

    @Test
    void infoAndMapShowTheDeviceAndItsSize() throws Exception {
        Path backing = garbage("disk.img", 24 * MiB);
        try (Loop loop = Loop.attach(backing, 4096)) {
            long size = Long.parseLong(Cmd.run("blockdev", "--getsize64", loop.device()).assertSuccess().stdout().strip());
            Map<String, Object> info = Json.object(sprout("info", "--json", loop.device()).assertSuccess().stdout());
            long logicalBlock = Long.parseLong(Cmd.run("blockdev", "--getss", loop.device()).assertSuccess().stdout().strip());
            assertThat(info).containsEntry("virtual_size", size).containsEntry("format", "raw")
                    .containsEntry("block_device", true).containsEntry("logical_block_size", logicalBlock);
            List<Map<String, Object>> map = Json.objects(sprout("map", "--json", loop.device()).assertSuccess().stdout());
            assertThat(map).singleElement().satisfies(e -> assertThat(e)
                    .containsEntry("start", 0L).containsEntry("length", size).containsEntry("data", true));
        }
    }

    @Test
    void aTooSmallDeviceIsAOneLineErrorAndStaysUntouched() throws Exception {
        Path source = source("source.img", 32 * MiB, 5);
        Path backing = garbage("small.img", 16 * MiB);
        Path before = dir.resolve("before.img");
        Cmd.run("cp", backing.toString(), before.toString()).assertSuccess();
        try (Loop loop = Loop.attach(backing, 512)) {
            Cmd.Result failure = sprout("copy", source.toString(), loop.device());
            assertThat(failure.exitCode()).isNotZero();
            assertThat(failure.stderr().strip()).startsWith("sprout: ").contains("smaller than").doesNotContain("\n");
            Cmd.run("cmp", before.toString(), loop.device()).assertSuccess();
        }
    }

    @Test
    void aStreamOnStdinIsWrittenToTheDeviceAndSparsifyKeepsItsContent() throws Exception {
        Path source = source("source.img", 32 * MiB, 23);
        Path backing = garbage("disk.img", 32 * MiB);
        try (Loop loop = Loop.attach(backing, 512)) {
            List<String> copy = new ArrayList<>(SproutServer.command("copy", "-", loop.device()));
            Cmd.sh(Cmd.TIMEOUT, "cat " + source + " | " + String.join(" ", copy)).assertSuccess();
            Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(), loop.device()).assertSuccess();

            // Zeroes written over data on the device: sparsify turns them into holes in the loop's file.
            Cmd.run("dd", "if=/dev/zero", "of=" + loop.device(), "bs=1M", "seek=1", "count=8", "conv=notrunc,fsync")
                    .assertSuccess();
            Path expected = dir.resolve("expected.img");
            Cmd.run("cp", loop.device(), expected.toString()).assertSuccess();
            long allocated = Cmd.allocatedBytes(backing);
            String report = sprout("sparsify", "--in-place", loop.device()).assertSuccess().stdout();
            assertThat(report).contains("punched");
            Cmd.run("cmp", expected.toString(), loop.device()).assertSuccess();
            assertThat(Cmd.allocatedBytes(backing)).isLessThanOrEqualTo(allocated - 8 * MiB);
        }
    }
}
