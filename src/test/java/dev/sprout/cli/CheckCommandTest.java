package dev.sprout.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code sprout check} against {@code qemu-img check} as the oracle: a qemu-written image is clean,
 * a leak made by hand is found by both and repaired without changing the content, a corruption
 * made by hand is reported with exit 2 and left alone.
 */
class CheckCommandTest {

    private static final int CLUSTER = 65536;

    @TempDir
    Path dir;

    private Path image;
    private Path copy;

    @BeforeEach
    void qemuWritesAnImage() throws IOException {
        image = dir.resolve("disk.qcow2");
        copy = dir.resolve("copy.qcow2");
        qemu("qemu-img", "create", "-f", "qcow2", image.toString(), "16M").assertStatus(0);
        qemu("qemu-io", "-f", "qcow2", "-c", "write -P 0xab 0 1M", "-c", "write -P 0xcd 5M 64k",
                "-c", "write -z 8M 64k", image.toString()).assertStatus(0);
        Files.copy(image, copy);
    }

    @Test
    void aQemuWrittenImageIsClean() throws IOException {
        byte[] before = Files.readAllBytes(image);
        Run run = run(image.toString());
        assertThat(run.status()).as(run.toString()).isZero();
        assertThat(run.out()).as("same text as qemu-img check").isEqualTo(qemu("qemu-img", "check", image.toString()).out());
        assertThat(run.out()).startsWith("No errors were found on the image.\n");
        Run json = run("--json", image.toString());
        assertThat(json.status()).isZero();
        assertThat(json.out()).contains("\"corruptions\": 0", "\"leaks\": 0", "\"check-errors\": 0",
                "\"allocated-clusters\": 17", "\"total-clusters\": 256");
        assertThat(Files.readAllBytes(image)).as("check must not write").isEqualTo(before);
    }

    @Test
    void aLeakIsReportedLikeQemuImgAndRepaired() throws IOException {
        long leaked = Files.size(image) / CLUSTER;
        try (FileChannel channel = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.allocate(CLUSTER), leaked * CLUSTER);
            setRefcount(channel, leaked, 1);
        }
        Proc qemuCheck = qemu("qemu-img", "check", image.toString());
        assertThat(qemuCheck.status()).as(qemuCheck.toString()).isEqualTo(3);
        assertThat(qemuCheck.out()).contains("1 leaked clusters were found on the image.");

        byte[] before = Files.readAllBytes(image);
        Run run = run(image.toString());
        assertThat(run.status()).as(run.toString()).isEqualTo(3);
        assertThat(run.out()).contains("Leaked cluster " + leaked + " refcount=1 reference=0",
                "1 leaked clusters were found on the image.");
        assertThat(Files.readAllBytes(image)).isEqualTo(before);

        Run repair = run("--repair", image.toString());
        assertThat(repair.status()).as(repair.toString()).isZero();
        assertThat(repair.out()).contains("1 leaked clusters", "No errors were found on the image.");
        qemu("qemu-img", "check", image.toString()).assertStatus(0);
        qemu("qemu-img", "compare", copy.toString(), image.toString()).assertStatus(0);
        assertThat(run(image.toString()).status()).isZero();
    }

    @Test
    void aCorruptionExitsTwoAndRepairLeavesIt() throws IOException {
        long dataCluster;
        try (FileChannel channel = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long l1 = readLong(channel, 40);
            long l2 = readLong(channel, l1) & 0x00ff_ffff_ffff_fe00L;
            dataCluster = (readLong(channel, l2) & 0x00ff_ffff_ffff_fe00L) / CLUSTER;
            setRefcount(channel, dataCluster, 0);
        }
        assertThat(qemu("qemu-img", "check", image.toString()).status()).isEqualTo(2);
        byte[] before = Files.readAllBytes(image);
        Run run = run(image.toString());
        assertThat(run.status()).as(run.toString()).isEqualTo(2);
        assertThat(run.out()).contains("ERROR cluster " + dataCluster + " refcount=0 reference=1",
                "errors were found on the image.");
        Run repair = run("--repair", image.toString());
        assertThat(repair.status()).isEqualTo(2);
        assertThat(repair.err()).contains("not repairing");
        assertThat(Files.readAllBytes(image)).as("corruptions are never touched").isEqualTo(before);
    }

    @Test
    void aRefcountTooHighOnAUsedClusterIsRepairedLikeQemuImgRepairsLeaks() throws IOException {
        long dataCluster;
        try (FileChannel channel = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long l1 = readLong(channel, 40);
            long l2 = readLong(channel, l1) & 0x00ff_ffff_ffff_fe00L;
            dataCluster = (readLong(channel, l2) & 0x00ff_ffff_ffff_fe00L) / CLUSTER;
            setRefcount(channel, dataCluster, 2);
        }
        Proc qemuCheck = qemu("qemu-img", "check", image.toString());
        Run run = run(image.toString());
        assertThat(run.status()).as(run.toString()).isEqualTo(qemuCheck.status()).isEqualTo(2);
        assertThat(run.out()).endsWith(qemuCheck.out().strip() + "\n");
        assertThat(run.out()).contains("Leaked cluster " + dataCluster + " refcount=2 reference=1", "ERROR OFLAG_COPIED",
                "1 errors were found", "1 leaked clusters were found");
        Run repair = run("--repair", image.toString());
        assertThat(repair.status()).as(repair.toString()).isZero();
        qemu("qemu-img", "check", image.toString()).assertStatus(0);
        qemu("qemu-img", "compare", copy.toString(), image.toString()).assertStatus(0);
    }

    @Test
    void anL2EntryPastTheEndOfTheFileIsACorruption() throws IOException {
        try (FileChannel channel = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long l1 = readLong(channel, 40);
            long l2 = readLong(channel, l1) & 0x00ff_ffff_ffff_fe00L;
            ByteBuffer entry = ByteBuffer.allocate(8).putLong(0, (1L << 63) | (1000L * CLUSTER));
            channel.write(entry, l2 + 8 * 200);
        }
        Run run = run(image.toString());
        assertThat(run.status()).as(run.toString()).isEqualTo(2);
        assertThat(run.out()).contains("past the end of the file");
    }

    @Test
    void anL2TableOnTheRefcountTableIsOverlappingMetadata() throws IOException {
        try (FileChannel channel = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long l1 = readLong(channel, 40);
            long refcountTable = readLong(channel, 48);
            channel.write(ByteBuffer.allocate(8).putLong(0, (1L << 63) | refcountTable), l1);
        }
        assertThat(qemu("qemu-img", "check", image.toString()).status()).isEqualTo(2);
        Run run = run(image.toString());
        assertThat(run.status()).as(run.toString()).isEqualTo(2);
        assertThat(run.out()).contains("overlaps metadata");
    }

    @Test
    void notAQcow2ImageIsACheckNotCompleted() throws IOException {
        Path raw = Files.write(dir.resolve("raw.img"), new byte[4096]);
        Run run = run(raw.toString());
        assertThat(run.status()).isEqualTo(1);
        assertThat(run.err()).contains("not a qcow2 image");
    }

    private static long readLong(FileChannel channel, long offset) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(8);
        channel.read(bytes, offset);
        return bytes.getLong(0);
    }

    /** Writes a 16-bit refcount entry directly into the first refcount block. */
    private static void setRefcount(FileChannel channel, long cluster, int value) throws IOException {
        long table = readLong(channel, 48);
        long block = readLong(channel, table) & 0x00ff_ffff_ffff_fe00L;
        channel.write(ByteBuffer.allocate(2).putShort(0, (short) value), block + 2 * cluster);
    }

    record Run(int status, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine commandLine = new CommandLine(new CheckCommand().declare());
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int status = commandLine.execute(args);
        return new Run(status, out.toString(), err.toString());
    }

    record Proc(int status, String out, String err) {
        Proc assertStatus(int expected) {
            assertThat(status).as("%s", this).isEqualTo(expected);
            return this;
        }
    }

    private static Proc qemu(String... command) throws IOException {
        Process process = new ProcessBuilder(List.of(command)).redirectErrorStream(false)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        try {
            String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException("timed out: " + String.join(" ", command));
            }
            return new Proc(process.exitValue(), out, err);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
