package dev.sprout.fs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sprout.backend.FileBlockDevice;
import dev.sprout.block.BlockDevice;
import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tables written by the tools people use, sgdisk (gdisk package) and sfdisk (fdisk package), read
 * back as the tools describe them. Skipped where the tools are not installed.
 */
class PartitionToolImagesTest {

    private static final long SIZE = 32 << 20;

    @TempDir
    Path dir;

    @Test
    void readsAGptWrittenBySgdisk() throws Exception {
        Path image = image("gpt.img");
        run(null, "sgdisk", "-o", "-n", "1:2048:+1M", "-t", "1:ef00", "-c", "1:esp",
                "-n", "2:0:+8M", "-t", "2:8300", "-c", "2:data",
                "-n", "3:0:0", "-t", "3:8200", "-c", "3:swap", image.toString());
        PartitionTable table = read(image);
        assertThat(table.scheme()).isEqualTo("GPT");
        assertThat(table.partitions()).containsExactly(
                new Partition(1, 2048L * 512, 2048L * 512, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "EFI System", "esp", false),
                new Partition(2, 4096L * 512, 16384L * 512, "0FC63DAF-8483-4772-8E79-3D69D8477DE4", "Linux filesystem", "data", false),
                // the last usable sector is 65502: 33 sectors of backup entries and header follow
                new Partition(3, 20480L * 512, 45023L * 512, "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", "Linux swap", "swap", false));
    }

    @Test
    void readsAnMbrWithLogicalPartitionsWrittenBySfdisk() throws Exception {
        Path image = image("mbr.img");
        run("""
                label: dos
                start=2048, size=8192, type=83, bootable
                start=10240, size=4096, type=82
                start=16384, type=5
                start=18432, size=4096, type=83
                start=24576, size=4096, type=8e
                start=30720, size=2048, type=c
                """, "sfdisk", "--no-reread", "--no-tell-kernel", image.toString());
        PartitionTable table = read(image);
        assertThat(table.scheme()).isEqualTo("MBR");
        assertThat(table.partitions()).containsExactly(
                new Partition(1, 2048L * 512, 8192L * 512, "0x83", "Linux", "", false),
                new Partition(2, 10240L * 512, 4096L * 512, "0x82", "Linux swap", "", false),
                new Partition(3, 16384L * 512, 49152L * 512, "0x05", "Extended", "", true),
                new Partition(5, 18432L * 512, 4096L * 512, "0x83", "Linux", "", false),
                new Partition(6, 24576L * 512, 4096L * 512, "0x8e", "Linux LVM", "", false),
                new Partition(7, 30720L * 512, 2048L * 512, "0x0c", "W95 FAT32 (LBA)", "", false));
    }

    @Test
    void readsAGptWrittenBySfdisk() throws Exception {
        Path image = image("gpt-by-sfdisk.img");
        run("""
                label: gpt
                start=2048, size=4096, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root fs"
                """, "sfdisk", "--no-reread", "--no-tell-kernel", image.toString());
        PartitionTable table = read(image);
        assertThat(table.scheme()).isEqualTo("GPT");
        assertThat(table.partitions()).extracting(Partition::number, Partition::start, Partition::size, Partition::name)
                .containsExactly(tuple(1, 2048L * 512, 4096L * 512, "root fs"));
    }

    private Path image(String name) throws IOException {
        Path image = dir.resolve(name);
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.setLength(SIZE);
        }
        return image;
    }

    private static PartitionTable read(Path image) throws IOException {
        try (BlockDevice device = FileBlockDevice.open(image, true)) {
            return PartitionTable.read(device);
        }
    }

    /** Runs a partitioning tool with {@code input} on stdin, or skips the test if it is not installed. */
    private void run(String input, String... command) throws Exception {
        List<String> sbin = List.of("/usr/sbin/", "/sbin/", "/usr/bin/");
        String tool = sbin.stream().map(d -> d + command[0]).filter(p -> new File(p).canExecute()).findFirst().orElse(null);
        assumeTrue(tool != null, command[0] + " is not installed (Debian packages gdisk and fdisk)");
        command[0] = tool;
        Path log = dir.resolve(command[0].replace('/', '_') + ".log");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        Path stdin = dir.resolve("stdin");
        Files.writeString(stdin, input == null ? "" : input, StandardCharsets.UTF_8);
        builder.redirectInput(stdin.toFile());
        Process process = builder.start();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " timed out; output:\n" + Files.readString(log));
        }
        assertThat(process.exitValue()).as("exit of %s; output:\n%s", String.join(" ", command), Files.readString(log))
                .isZero();
    }
}
