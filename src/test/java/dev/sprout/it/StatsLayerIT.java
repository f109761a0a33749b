package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@code stats} layer under {@code nbdsh} and {@code fio}: the JSON file it writes every
 * second, read by Python's json module, counts exactly the requests the clients made.
 */
class StatsLayerIT {

    /** Prints one line per operation: name count bytes errors p50 p90 p99 max. */
    private static final String SUMMARY = """
            import json, sys
            d = json.load(open(sys.argv[1]))
            assert set(d) == {"device", "time", "seconds", "operations"}, d.keys()
            assert list(d["operations"]) == ["read", "write", "zero", "trim", "flush", "extents", "cache"]
            for op, s in d["operations"].items():
                l = s["latency_ns"]
                assert 0 <= l["p50"] <= l["p90"] <= l["p99"] <= l["max"], (op, l)
                print(op, s["count"], s["bytes"], s["errors"], l["p50"], l["p90"], l["p99"], l["max"])
            """;

    /** What the file says about one operation. */
    private record Counts(long count, long bytes, long errors, long p50, long max) {
    }

    @TempDir
    Path dir;

    @Test
    void nbdshRequestsAreCountedInTheJsonFileWhileServingAndAfter() throws Exception {
        Path json = dir.resolve("stats.json");
        SproutServer server = SproutServer.start(dir, "--layer", "stats:file=" + json + ",interval=1", "memory", "64M");
        try (server) {
            assertThat(json).as("written at start-up").isRegularFile();
            Cmd.nbdsh(server.uri(), """
                    for i in range(100):
                        h.pwrite(b"x" * 4096, i * 4096)
                    for i in range(50):
                        assert h.pread(1000, i * 4096) == b"x" * 1000
                    for i in range(10):
                        h.zero(8192, (1 << 20) + i * 65536)
                    for i in range(5):
                        h.trim(65536, (2 << 20) + i * 65536, nbd.CMD_FLAG_FUA)
                    for i in range(3):
                        h.flush()
                    """);
            Map<String, Counts> live = awaitCount(json, "flush", 3);
            assertCounts(live);
        }
        assertCounts(summary(json));
        assertThat(server.log()).as("the table printed on exit")
                .containsPattern("stats for Memory\\(64M\\) over [\\d.]+ s:\n +op +count +bytes")
                .containsPattern("\n +write +100 +409600 +0 ");
        try (var files = Files.list(dir)) {
            assertThat(files.filter(f -> f.getFileName().toString().endsWith(".tmp"))).as("temporary files").isEmpty();
        }
    }

    private static void assertCounts(Map<String, Counts> ops) {
        assertThat(ops.get("write")).extracting(Counts::count, Counts::bytes, Counts::errors).containsExactly(100L, 409_600L, 0L);
        assertThat(ops.get("read")).extracting(Counts::count, Counts::bytes, Counts::errors).containsExactly(50L, 50_000L, 0L);
        assertThat(ops.get("zero")).extracting(Counts::count, Counts::bytes, Counts::errors).containsExactly(10L, 81_920L, 0L);
        assertThat(ops.get("trim")).extracting(Counts::count, Counts::bytes, Counts::errors).containsExactly(5L, 327_680L, 0L);
        assertThat(ops.get("flush")).extracting(Counts::count, Counts::bytes, Counts::errors).containsExactly(3L, 0L, 0L);
        assertThat(ops.get("cache").count()).isZero();
        assertThat(ops.get("write").p50()).isPositive();
    }

    @Test
    void fioReadsAndWritesMatchItsOwnReport() throws Exception {
        Path json = dir.resolve("stats.json");
        Path fio = dir.resolve("fio.json");
        try (SproutServer server = SproutServer.start(dir, "--layer", "stats:file=" + json + ",interval=1", "memory", "64M")) {
            Cmd.run(Duration.ofSeconds(120), "fio", "--name=mix", "--ioengine=nbd", "--uri=" + server.uri(),
                    "--rw=randrw", "--bs=4k", "--size=8M", "--iodepth=16", "--output-format=json",
                    "--output=" + fio).assertSuccess();
        }
        String fioTotals = Cmd.run("python3", "-c", """
                import json, sys
                j = json.load(open(sys.argv[1]))["jobs"][0]
                print(j["read"]["total_ios"], j["read"]["io_bytes"], j["write"]["total_ios"], j["write"]["io_bytes"])
                """, fio.toString()).assertSuccess().stdout().strip();
        String[] f = fioTotals.split(" ");
        Map<String, Counts> ops = summary(json);
        assertThat(ops.get("read")).extracting(Counts::count, Counts::bytes, Counts::errors)
                .as("fio says %s", fioTotals).containsExactly(Long.parseLong(f[0]), Long.parseLong(f[1]), 0L);
        assertThat(ops.get("write")).extracting(Counts::count, Counts::bytes, Counts::errors)
                .as("fio says %s", fioTotals).containsExactly(Long.parseLong(f[2]), Long.parseLong(f[3]), 0L);
        assertThat(ops.get("read").count() + ops.get("write").count()).isEqualTo(2048);
        assertThat(ops.get("write").max()).isGreaterThanOrEqualTo(ops.get("write").p50()).isPositive();
    }

    /** Polls the file (rewritten every second) until {@code op} reaches {@code count}. */
    private static Map<String, Counts> awaitCount(Path json, String op, long count) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        Map<String, Counts> ops = summary(json);
        while (ops.get(op).count() < count && System.nanoTime() < deadline) {
            Thread.sleep(200);
            ops = summary(json);
        }
        return ops;
    }

    private static Map<String, Counts> summary(Path json) {
        Map<String, Counts> ops = new LinkedHashMap<>();
        String out = Cmd.run("python3", "-c", SUMMARY, json.toString()).assertSuccess().stdout();
        for (String line : out.strip().split("\n")) {
            String[] w = line.split(" ");
            ops.put(w[0], new Counts(Long.parseLong(w[1]), Long.parseLong(w[2]), Long.parseLong(w[3]),
                    Long.parseLong(w[4]), Long.parseLong(w[7])));
        }
        return ops;
    }
}
