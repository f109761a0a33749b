package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** fio's nbd engine (libnbd, one connection per job, 32 requests in flight), with and without verification. */
class FioIT {

    @TempDir
    Path dir;

    @Test
    void randomReadsAndWritesAtIodepth32OnTwoConnections() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "memory", "1G")) {
            Map<String, Object> job = fio(server, "--name=randrw", "--rw=randrw", "--bs=4k", "--iodepth=32",
                    "--size=256M", "--numjobs=2", "--group_reporting", "--runtime=3", "--time_based");

            assertThat(io(job, "read")).as("bytes read").isPositive();
            assertThat(io(job, "write")).as("bytes written").isPositive();
        }
    }

    @Test
    void verifiedWritesOfMixedSizesReadBackIntact() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "memory", "1G")) {
            Map<String, Object> job = fio(server, "--name=verify", "--rw=randwrite", "--bsrange=4k-256k",
                    "--iodepth=32", "--size=64M", "--verify=crc32c", "--verify_fatal=1", "--do_verify=1");

            assertThat(io(job, "write")).isEqualTo(64L << 20);
            assertThat(io(job, "read")).as("bytes read back to verify").isEqualTo(64L << 20);
        }
    }

    @Test
    void trimsAndWritesMixed() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "memory", "1G")) {
            Map<String, Object> job = fio(server, "--name=trimwrite", "--rw=randtrimwrite", "--bs=64k",
                    "--iodepth=32", "--size=128M");

            assertThat(io(job, "trim")).as("bytes trimmed").isPositive();
            assertThat(io(job, "write")).as("bytes written").isPositive();
        }
    }

    /** Runs fio against the server, asserts exit 0 and no error, and returns the (grouped) job report. */
    @SuppressWarnings("unchecked")
    private Map<String, Object> fio(SproutServer server, String... options) throws Exception {
        Path report = dir.resolve("fio.json");
        List<String> command = new ArrayList<>(List.of("fio", "--ioengine=nbd", "--uri=" + server.uri(),
                "--output-format=json", "--output=" + report));
        command.addAll(List.of(options));
        Cmd.Result result = Cmd.run(Duration.ofSeconds(60), Map.of(), command);
        if (result.exitCode() != 0) {
            throw new AssertionError(result + "\n--- report:\n" + (Files.exists(report) ? Files.readString(report) : "")
                    + "\n--- server log:\n" + server.log());
        }
        List<Map<String, Object>> jobs = (List<Map<String, Object>>) Json.object(Files.readString(report)).get("jobs");
        assertThat(jobs).isNotEmpty();
        for (Map<String, Object> job : jobs) {
            assertThat(job.get("error")).as("fio's error for job %s", job.get("jobname")).isEqualTo(0L);
        }
        return jobs.getFirst();
    }

    @SuppressWarnings("unchecked")
    private static long io(Map<String, Object> job, String direction) {
        return (Long) ((Map<String, Object>) job.get(direction)).get("io_bytes");
    }
}
