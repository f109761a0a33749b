package dev.sprout.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Disk images partitioned by sgdisk (GPT) and sfdisk (MBR with logical partitions), an ext4 file
 * system made in one partition through a loop device with an offset, then that partition served
 * alone ({@code --layer partition:number=N}) through nbdfuse and a loop device: e2fsck is clean and
 * the file written before is there. {@code sprout partitions} lists what the tools made.
 */
class PartitionIT {

    private static final Duration SLOW = Duration.ofSeconds(120);
    private static final long SECTOR = 512;

    @TempDir
    Path dir;

    @Test
    void servesExt4InPartitionTwoOfAGptDisk() throws Exception {
        Path image = sparseFile("gpt.img", 128L << 20);
        Cmd.run("sgdisk", "-o", "-n", "1:2048:+16M", "-t", "1:ef00", "-c", "1:esp",
                "-n", "2:0:+64M", "-t", "2:8300", "-c", "2:root fs", image.toString()).assertSuccess();
        long start = 34_816 * SECTOR;  // 2048 + 16 MiB of sectors
        long size = 64L << 20;
        byte[] file = FileTrees.randomBytes(5 << 20, System.nanoTime());
        makeExt4(image, start, size, file);

        servePartitionAndCheck(image, 2, size, file);

        Cmd.Result list = Cmd.run(SproutServer.command("partitions", image.toString()).toArray(String[]::new))
                .assertSuccess();
        assertThat(list.stdout().lines().toList()).containsExactly(
                image + ": GPT, 2 partitions",
                "NUMBER     START      SIZE       TYPE                                                    NAME",
                "     1   1048576  16777216  16M  C12A7328-F81F-11D2-BA4B-00A0C93EC93B  EFI System        esp",
                "     2  17825792  67108864  64M  0FC63DAF-8483-4772-8E79-3D69D8477DE4  Linux filesystem  root fs");
        List<Map<String, Object>> partitions = jsonPartitions(image, "gpt");
        assertThat(partitions).extracting(p -> p.get("number"), p -> p.get("start"), p -> p.get("size"), p -> p.get("name"))
                .containsExactly(
                        tuple(1L, 1_048_576L, 16_777_216L, "esp"),
                        tuple(2L, start, size, "root fs"));
    }

    @Test
    void servesExt4InALogicalPartitionOfAnMbrDisk() throws Exception {
        Path image = sparseFile("mbr.img", 128L << 20);
        Cmd.Result sfdisk = Cmd.run(SLOW, Map.of(), List.of("/bin/sh", "-c", "sfdisk --no-reread --no-tell-kernel "
                + image + " <<'EOF'\n"
                + "label: dos\n"
                + "start=2048, size=32768, type=83\n"
                + "start=36864, type=5\n"
                + "start=38912, size=32768, type=82\n"
                + "start=73728, size=65536, type=83\n"
                + "EOF\n")).assertSuccess();
        long start = 73_728 * SECTOR;
        long size = 65_536 * SECTOR;
        byte[] file = FileTrees.randomBytes(3 << 20, System.nanoTime());
        makeExt4(image, start, size, file);

        servePartitionAndCheck(image, 6, size, file);

        List<Map<String, Object>> partitions = jsonPartitions(image, "mbr");
        assertThat(partitions).as("sfdisk said: %s", sfdisk)
                .extracting(p -> p.get("number"), p -> p.get("start"), p -> p.get("type"), p -> p.get("extended"))
                .containsExactly(
                        tuple(1L, 2048 * SECTOR, "0x83", false),
                        tuple(2L, 36_864 * SECTOR, "0x05", true),
                        tuple(5L, 38_912 * SECTOR, "0x82", false),
                        tuple(6L, start, "0x83", false));
    }

    /** Serves partition {@code number} of {@code image} and checks the file system in it from a loop device. */
    private void servePartitionAndCheck(Path image, int number, long size, byte[] file) throws Exception {
        Path served = Files.createDirectory(dir.resolve("served-" + number));
        Path mnt = Files.createDirectory(dir.resolve("mnt-" + number));
        try (NbdfuseDisk disk = NbdfuseDisk.start(served, "--layer", "partition:number=" + number,
                "file", image.toString())) {
            assertThat(disk.size()).as("the partition's size").isEqualTo(size);
            String loop = disk.attachLoop();
            Cmd.run(SLOW, "e2fsck", "-f", "-n", loop).assertSuccess();
            disk.mount(mnt);
            assertThat(Files.readAllBytes(mnt.resolve("hello.bin"))).as("the file written before").isEqualTo(file);
            Files.writeString(mnt.resolve("written-through-sprout"), "partition " + number);
            disk.unmount();
            Cmd.run(SLOW, "e2fsck", "-f", "-n", loop).assertSuccess();
        }
        // What was written through the partition export landed inside the partition of the image.
        String loop = Cmd.run("losetup", "-f", "--show", "--offset", Long.toString(startOf(image, number)),
                "--sizelimit", Long.toString(size), image.toString()).assertSuccess().stdout().strip();
        try {
            Cmd.run(SLOW, "e2fsck", "-f", "-n", loop).assertSuccess();
            Cmd.Result cat = Cmd.run("debugfs", "-R", "cat /written-through-sprout", loop).assertSuccess();
            assertThat(cat.stdout()).isEqualTo("partition " + number);
        } finally {
            Cmd.run("losetup", "-d", loop).assertSuccess();
        }
    }

    /** Makes ext4 in the partition through a loop device over its byte range and writes hello.bin into it. */
    private void makeExt4(Path image, long start, long size, byte[] file) throws IOException {
        Path mnt = Files.createDirectory(dir.resolve("make-" + start));
        String loop = Cmd.run("losetup", "-f", "--show", "--offset", Long.toString(start),
                "--sizelimit", Long.toString(size), image.toString()).assertSuccess().stdout().strip();
        try {
            Cmd.run(SLOW, "mkfs.ext4", "-q", loop).assertSuccess();
            Cmd.run("mount", loop, mnt.toString()).assertSuccess();
            try {
                Files.write(mnt.resolve("hello.bin"), file);
            } finally {
                Cmd.run("umount", mnt.toString()).assertSuccess();
            }
        } finally {
            Cmd.run("losetup", "-d", loop).assertSuccess();
        }
    }

    /** The start of partition {@code number} as {@code sprout partitions --json} reports it. */
    private static long startOf(Path image, int number) {
        return jsonPartitions(image, null).stream().filter(p -> p.get("number").equals((long) number))
                .map(p -> (Long) p.get("start")).findFirst().orElseThrow();
    }

    /** {@code sprout partitions --json IMAGE}, parsed; checks the scheme unless {@code scheme} is null. */
    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> jsonPartitions(Path image, String scheme) {
        Cmd.Result result = Cmd.run(SproutServer.command("partitions", "--json", image.toString()).toArray(String[]::new))
                .assertSuccess();
        Map<String, Object> json = Json.object(result.stdout());
        if (scheme != null) {
            assertThat(json).containsEntry("scheme", scheme).containsEntry("sector_size", 512L)
                    .containsEntry("image", image.toString());
        }
        return (List<Map<String, Object>>) json.get("partitions");
    }

    private Path sparseFile(String name, long size) throws IOException {
        Path path = dir.resolve(name);
        try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
            file.setLength(size);
        }
        return path;
    }
}
