package dev.sprout.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.fs.DiskFixture;
import dev.sprout.fs.DiskFixture.GptEntry;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code sprout partitions} on byte-built images: the table, JSON, and the error for a disk without one. */
class PartitionsCommandTest {

    @TempDir
    Path dir;

    @Test
    void listsGptPartitionsInAlignedColumns() throws IOException {
        Path image = write("gpt.img", new DiskFixture(8 << 20).gpt(List.of(
                new GptEntry(1, DiskFixture.EFI_SYSTEM, 2048, 4095, "esp"),
                new GptEntry(2, DiskFixture.LINUX_FILESYSTEM, 4096, 16349, "root \"fs\""))));
        Run run = run(image.toString());
        assertThat(run.status()).isZero();
        assertThat(run.out()).isEqualTo(image + ": GPT, 2 partitions\n"
                + "NUMBER    START     SIZE        TYPE                                                    NAME\n"
                + "     1  1048576  1048576    1M  C12A7328-F81F-11D2-BA4B-00A0C93EC93B  EFI System        esp\n"
                + "     2  2097152  6274048  6.0M  0FC63DAF-8483-4772-8E79-3D69D8477DE4  Linux filesystem  root \"fs\"\n");
    }

    @Test
    void printsJson() throws IOException {
        Path image = write("mbr.img", new DiskFixture(8 << 20)
                .mbrEntry(0, 0, 0x80, 0x83, 2048, 2048)
                .mbrEntry(0, 1, 0, 0x05, 4096, 4096)
                .mbrEntry(4096, 0, 0, 0x82, 2048, 1024));
        Run run = run("--json", image.toString());
        assertThat(run.status()).isZero();
        assertThat(run.out()).isEqualTo("{\"image\": \"" + image + "\", \"scheme\": \"mbr\", \"sector_size\": 512, \"partitions\": [\n"
                + "  {\"number\": 1, \"start\": 1048576, \"size\": 1048576, \"type\": \"0x83\", \"type_name\": \"Linux\", \"name\": \"\", \"extended\": false},\n"
                + "  {\"number\": 2, \"start\": 2097152, \"size\": 2097152, \"type\": \"0x05\", \"type_name\": \"Extended\", \"name\": \"\", \"extended\": true},\n"
                + "  {\"number\": 5, \"start\": 3145728, \"size\": 524288, \"type\": \"0x82\", \"type_name\": \"Linux swap\", \"name\": \"\", \"extended\": false}\n"
                + "]}\n");
    }

    @Test
    void aDiskWithoutTableFailsWithOneLine() throws IOException {
        Path image = write("blank.img", new DiskFixture(1 << 20));
        Run run = run(image.toString());
        assertThat(run.status()).isEqualTo(1);
        assertThat(run.err()).isEqualTo("sprout: File(" + image + ") has no partition table: no MBR boot signature"
                + " (55 AA at byte 510) and no GPT header (\"EFI PART\" at byte 512)\n");
    }

    @Test
    void humanSizesKeepOneDecimal() {
        assertThat(PartitionsCommand.human(512)).isEqualTo("512B");
        assertThat(PartitionsCommand.human(1024)).isEqualTo("1K");
        assertThat(PartitionsCommand.human(1536)).isEqualTo("1.5K");
        assertThat(PartitionsCommand.human(45023L * 512)).isEqualTo("22.0M");
        assertThat(PartitionsCommand.human(1L << 60)).isEqualTo("1E");
        assertThat(PartitionsCommand.human(Long.MAX_VALUE)).isEqualTo("8.0E");
    }

    private record Run(int status, String out, String err) {
    }

    private Path write(String name, DiskFixture disk) throws IOException {
        return Files.write(dir.resolve(name), disk.bytes());
    }

    /** Runs {@code sprout partitions ARGS} as Main would, capturing both streams. */
    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine commandLine = new CommandLine(new PartitionsCommand().declare())
                .setOut(new PrintWriter(out)).setErr(new PrintWriter(err));
        commandLine.setExecutionExceptionHandler((failure, cmd, parsed) -> {
            cmd.getErr().println("sprout: " + failure.getMessage());
            cmd.getErr().flush();
            return 1;
        });
        int status = commandLine.execute(args);
        return new Run(status, out.toString(), err.toString());
    }
}
