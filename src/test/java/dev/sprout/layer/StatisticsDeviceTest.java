package dev.sprout.layer;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockDeviceContract;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.block.ZeroFlags;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIOException;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;
import static org.assertj.core.api.Assertions.catchThrowable;

class StatisticsDeviceTest extends BlockDeviceContract {

    private static final Duration RARELY = Duration.ofHours(1);

    private final ByteArrayOutputStream console = new ByteArrayOutputStream();

    @Override
    protected BlockDevice newDevice(long size) throws IOException {
        return stats(MemoryBlockDevice.create(size), null, RARELY);
    }

    private StatisticsDevice stats(BlockDevice below, Path file, Duration interval) throws IOException {
        return new StatisticsDevice(below, file, interval, new PrintStream(console, true, StandardCharsets.UTF_8));
    }

    /** Sleeps a known time in reads and writes, so latencies have a lower bound. */
    private static final class SleepingDevice extends ForwardingBlockDevice {

        SleepingDevice(BlockDevice in) {
            super(in);
        }

        @Override
        public void read(long offset, ByteBuffer dst) throws IOException {
            sleep(READ_MILLIS);
            in.read(offset, dst);
        }

        @Override
        public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
            sleep(WRITE_MILLIS);
            in.write(offset, src, fua);
        }

        private static void sleep(long millis) throws IOException {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }
    }

    private static final long READ_MILLIS = 20;
    private static final long WRITE_MILLIS = 5;

    @Test
    void changesNeitherCapabilitiesNorNameBeyondItsOwn() throws IOException {
        try (BlockDevice device = newDevice(SIZE)) {
            assertThat(device.capabilities()).isEqualTo(MemoryBlockDevice.create(SIZE).capabilities());
            assertThat(device).hasToString("Statistics(Memory(1M))");
        }
    }

    @Test
    void countsAndBytesMatchTheRequestsAndFailuresAreErrors() throws IOException {
        LogParsingTest.FailingDevice failing = new LogParsingTest.FailingDevice(MemoryBlockDevice.create(SIZE));
        try (StatisticsDevice device = stats(failing, null, RARELY)) {
            for (int i = 0; i < 7; i++) {
                device.write(i * 1000L, ByteBuffer.allocate(1000), i % 2 == 0);
            }
            catchThrowable(() -> device.write(LogParsingTest.BAD, ByteBuffer.allocate(10), false));
            for (int i = 0; i < 5; i++) {
                device.read(i, ByteBuffer.allocate(300));
            }
            catchThrowable(() -> device.read(LogParsingTest.BUG, ByteBuffer.allocate(10)));
            device.zero(0, 4096, ZeroFlags.PUNCH);
            catchThrowable(() -> device.zero(0, 4096, new ZeroFlags(false, true, false)));
            device.trim(8192, 100, false);
            device.trim(8192, 200, true);
            device.flush();
            device.cache(0, 12345);
            device.extents(0, 4096);
            device.extents(0, 77);
            catchThrowable(() -> device.extents(0, SIZE));

            var ops = device.report().operations();
            assertThat(ops.keySet()).containsExactly(Operation.values());
            assertCounts(ops.get(Operation.WRITE), 8, 7000, 1);
            assertCounts(ops.get(Operation.READ), 6, 1500, 1);
            assertCounts(ops.get(Operation.ZERO), 2, 4096, 1);
            assertCounts(ops.get(Operation.TRIM), 2, 300, 0);
            assertCounts(ops.get(Operation.FLUSH), 1, 0, 0);
            assertCounts(ops.get(Operation.CACHE), 1, 12345, 0);
            assertCounts(ops.get(Operation.EXTENTS), 3, 4096 + 77, 1);
        }
    }

    private static void assertCounts(OperationCounters.Summary summary, long count, long bytes, long errors) {
        assertThat(summary.count()).as("count of %s", summary).isEqualTo(count);
        assertThat(summary.bytes()).as("bytes of %s", summary).isEqualTo(bytes);
        assertThat(summary.errors()).as("errors of %s", summary).isEqualTo(errors);
        assertThat(summary.p50()).isPositive().isLessThanOrEqualTo(summary.p90());
        assertThat(summary.p90()).isLessThanOrEqualTo(summary.p99());
        assertThat(summary.p99()).isLessThanOrEqualTo(summary.max());
    }

    @Test
    void latenciesAreAtLeastTheKnownDelaysBelow() throws IOException {
        try (StatisticsDevice device = stats(new SleepingDevice(MemoryBlockDevice.create(SIZE)), null, RARELY)) {
            for (int i = 0; i < 10; i++) {
                device.read(0, ByteBuffer.allocate(512));
                device.write(0, ByteBuffer.allocate(512), false);
            }
            device.flush();
            var ops = device.report().operations();
            OperationCounters.Summary reads = ops.get(Operation.READ);
            OperationCounters.Summary writes = ops.get(Operation.WRITE);
            assertThat(reads.p50()).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(READ_MILLIS));
            assertThat(writes.p50()).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(WRITE_MILLIS));
            assertCounts(reads, 10, 5120, 0);
            assertCounts(writes, 10, 5120, 0);
        }
    }

    @Test
    void printsATableOfWhatHappenedOnClose() throws IOException {
        try (StatisticsDevice device = stats(MemoryBlockDevice.create(SIZE), null, RARELY)) {
            device.write(0, ByteBuffer.allocate(4096), false);
            device.write(0, ByteBuffer.allocate(4096), false);
        }
        List<String> lines = console.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).startsWith("stats for Memory(1M) over ");
        assertThat(lines.get(1).split("\\s+")).containsExactly("", "op", "count", "bytes", "errors",
                "p50", "us", "p90", "us", "p99", "us", "max", "us");
        assertThat(lines.get(2)).matches("  write +2 +8192 +0( +\\d+\\.\\d){4}");
    }

    @Test
    void writesTheJsonFileAtOpenEveryIntervalAndOnClose(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("stats.json");
        try (StatisticsDevice device = stats(MemoryBlockDevice.create(SIZE), file, Duration.ofMillis(20))) {
            assertThat(count(Files.readString(file), "write")).isZero();
            for (int i = 0; i < 3; i++) {
                device.write(0, ByteBuffer.allocate(100), false);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (count(Files.readString(file), "write") != 3 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(count(Files.readString(file), "write")).as("after the interval").isEqualTo(3);
            device.flush();
        }
        String json = Files.readString(file);
        assertThat(count(json, "write")).isEqualTo(3);
        assertThat(count(json, "flush")).isEqualTo(1);
        assertThat(json).startsWith("{\n  \"device\": \"Memory(1M)\",\n  \"time\": \"").endsWith("  }\n}\n");
        for (Operation op : Operation.values()) {
            assertThat(json).containsOnlyOnce("\"" + op.label() + "\": {\"count\": ");
        }
        try (var files = Files.list(dir)) {
            assertThat(files).containsExactly(file);
        }
    }

    @Test
    void readersNeverSeeHalfADocument(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("stats.json");
        List<String> seen = new ArrayList<>();
        try (StatisticsDevice device = stats(MemoryBlockDevice.create(SIZE), file, Duration.ofNanos(1))) {
            long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
            while (System.nanoTime() < until) {
                device.write(0, ByteBuffer.allocate(1), false);
                try {
                    seen.add(Files.readString(file));
                } catch (NoSuchFileException e) {
                    throw new AssertionError("the file vanished between two writes", e);
                }
            }
        }
        assertThat(seen).isNotEmpty().allSatisfy(json -> {
            assertThat(json).startsWith("{\n").endsWith("}\n");
            assertThat(count(json, "cache")).isZero();
        });
    }

    @Test
    void badParametersAndUnwritableFilesFailAtStartUp(@TempDir Path dir) {
        BlockDevice below = MemoryBlockDevice.create(SIZE);
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("stats:interval=0", below))
                .withMessageStartingWith("layer 'stats': invalid interval='0'");
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("stats:interval=1s", below))
                .withMessage("layer 'stats': invalid interval='1s'; expected a whole number");
        assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("stats:every=1", below))
                .withMessage("layer 'stats': unknown parameter 'every'; accepted: file, interval");
        assertThatIOException().isThrownBy(() -> LayerCatalog.wrap("stats:file=" + dir.resolve("no/such.json"), below))
                .withMessageStartingWith("layer 'stats': cannot write " + dir.resolve("no/such.json"));
    }

    @Test
    void theCatalogBuildsItWithAFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("s.json");
        try (BlockDevice device = LayerCatalog.wrap("stats:file=" + file + ",interval=3600", MemoryBlockDevice.create(SIZE))) {
            device.read(0, ByteBuffer.allocate(10));
        }
        assertThat(count(Files.readString(file), "read")).isEqualTo(1);
    }

    private static final Pattern OPERATION = Pattern.compile(
            "\"(\\w+)\": \\{\"count\": (\\d+), \"bytes\": (\\d+), \"errors\": (\\d+), "
                    + "\"latency_ns\": \\{\"p50\": (\\d+), \"p90\": (\\d+), \"p99\": (\\d+), \"max\": (\\d+)}}");

    /** The count of {@code op} in a JSON report. */
    private static long count(String json, String op) {
        Matcher m = OPERATION.matcher(json);
        while (m.find()) {
            if (m.group(1).equals(op)) {
                return Long.parseLong(m.group(2));
            }
        }
        throw new AssertionError("no " + op + " in " + json);
    }
}
