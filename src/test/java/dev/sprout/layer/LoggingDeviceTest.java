package dev.sprout.layer;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.RequestContext;
import dev.sprout.block.BlockDeviceContract;
import dev.sprout.block.ZeroFlags;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIOException;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class LoggingDeviceTest extends BlockDeviceContract {

    private final ByteArrayOutputStream complaints = new ByteArrayOutputStream();

    @Override
    protected BlockDevice newDevice(long size) {
        return new LoggingDevice(MemoryBlockDevice.create(size), output(new ByteArrayOutputStream()));
    }

    private LogOutput output(OutputStream target) {
        return new LogOutput(target, "test", true, new PrintStream(complaints, true, StandardCharsets.UTF_8));
    }

    @Test
    void changesNeitherCapabilitiesNorNameBeyondItsOwn() throws IOException {
        try (BlockDevice device = newDevice(SIZE)) {
            assertThat(device.capabilities()).isEqualTo(MemoryBlockDevice.create(SIZE).capabilities());
            assertThat(device).hasToString("Logging(Memory(1M))");
        }
    }

    @Test
    void writesEveryFlagOfEveryOperation() throws IOException {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (BlockDevice device = new LoggingDevice(MemoryBlockDevice.create(SIZE), output(log))) {
            device.write(4096, ByteBuffer.allocate(512), true);
            device.trim(0, 4096, true);
            device.zero(8192, 100, new ZeroFlags(true, true, true));
            device.zero(8192, 100, ZeroFlags.PUNCH);
            device.cache(1, 2);
            device.extents(0, SIZE);
        }
        assertThat(log.toString(StandardCharsets.UTF_8).lines().skip(1).limit(6).map(line -> line.substring(line.indexOf(" id=") + 1)
                .replaceAll(" us=\\d+ conn=\\S+ cookie=\\S+$", "")))
                .containsExactly(
                        "id=1 op=write offset=4096 length=512 flags=fua result=OK",
                        "id=2 op=trim offset=0 length=4096 flags=fua result=OK",
                        "id=3 op=zero offset=8192 length=100 flags=fua,nohole,fast result=OK",
                        "id=4 op=zero offset=8192 length=100 flags=- result=OK",
                        "id=5 op=cache offset=1 length=2 flags=- result=OK",
                        "id=6 op=extents offset=0 length=1048576 flags=- result=OK");
    }

    @Test
    void opensAndClosesWithEventLines() throws IOException {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        BlockDevice device = new LoggingDevice(MemoryBlockDevice.create(SIZE), output(log));
        device.flush();
        device.close();
        List<String> lines = log.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).matches("\\S+Z event=open size=1048576 device=Memory\\(1M\\)");
        assertThat(lines.get(2)).matches("\\S+Z event=close requests=1");
    }

    @Test
    void namesTheClientConnectionAndCookieTheServerBound() throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (BlockDevice device = new LoggingDevice(MemoryBlockDevice.create(SIZE), output(log))) {
            ScopedValue.where(RequestContext.CURRENT, new RequestContext(7, -1L)).run(() -> flushQuietly(device));
            flushQuietly(device);
        }
        List<String> lines = log.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines.get(1)).endsWith(" conn=7 cookie=18446744073709551615");
        assertThat(lines.get(2)).endsWith(" conn=- cookie=-");
    }

    private static void flushQuietly(BlockDevice device) {
        try {
            device.flush();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void concurrentRequestsGetWholeLinesAndDistinctIds() throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        int threads = 8;
        int each = 500;
        try (BlockDevice device = new LoggingDevice(MemoryBlockDevice.create(SIZE), output(log));
             ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long offset = t * 4096L;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < each; i++) {
                        device.write(offset, ByteBuffer.allocate(100), false);
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        }
        Set<Long> ids = new TreeSet<>();
        for (String line : log.toString(StandardCharsets.UTF_8).lines().toList()) {
            if (!line.contains(" event=")) {
                LogParsingTest.LogLine parsed = LogParsingTest.LogLine.parse(line);
                assertThat(parsed.request().op()).isEqualTo("write");
                ids.add(parsed.id());
            }
        }
        assertThat(ids).hasSize(threads * each).startsWith(1L).endsWith((long) threads * each);
    }

    @Test
    void aFailingLogNeitherFailsRequestsNorComplainsTwice() throws IOException {
        OutputStream broken = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("disk full");
            }
        };
        byte[] data = "still works".getBytes(StandardCharsets.UTF_8);
        try (BlockDevice device = new LoggingDevice(MemoryBlockDevice.create(SIZE), output(broken))) {
            for (int i = 0; i < 2000; i++) {
                device.write(i, ByteBuffer.wrap(data), false);
                device.flush();
            }
            ByteBuffer back = ByteBuffer.allocate(data.length);
            device.read(1999, back);
            assertThat(back.array()).isEqualTo(data);
        }
        String told = complaints.toString(StandardCharsets.UTF_8);
        assertThat(told).contains("cannot write to test").contains("disk full");
        assertThat(told.lines()).hasSize(1);
    }

    @Test
    void writesOnlyWholeLinesToTheTarget() throws IOException {
        List<String> writes = new ArrayList<>();
        OutputStream recorder = new OutputStream() {
            @Override
            public void write(int b) {
                writes.add(String.valueOf((char) b));
            }

            @Override
            public void write(byte[] b, int offset, int length) {
                writes.add(new String(b, offset, length, StandardCharsets.UTF_8));
            }
        };
        try (BlockDevice device = new LoggingDevice(MemoryBlockDevice.create(SIZE), output(recorder))) {
            for (int i = 0; i < 5000; i++) {
                device.write(i, ByteBuffer.allocate(1), false);
            }
        }
        assertThat(writes).hasSizeGreaterThan(2).allSatisfy(w -> assertThat(w).endsWith("\n"));
        assertThat(String.join("", writes).lines()).hasSize(5002);
    }

    @Test
    void appendsToTheFileAndFlushesOnFlush(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("io.log");
        Files.writeString(file, "earlier\n");
        try (BlockDevice device = LayerCatalog.wrap("log:file=" + file, MemoryBlockDevice.create(SIZE))) {
            device.write(0, ByteBuffer.allocate(1), false);
            device.flush();
            assertThat(Files.readAllLines(file)).hasSize(4).first().isEqualTo("earlier");
        }
        assertThat(Files.readAllLines(file)).hasSize(5).last().asString().contains("event=close requests=2");
    }

    @Test
    void aFileThatCannotBeOpenedFailsAtStartUp(@TempDir Path dir) {
        assertThatIOException()
                .isThrownBy(() -> LayerCatalog.wrap("log:file=" + dir.resolve("missing/io.log"), MemoryBlockDevice.create(SIZE)))
                .withMessageStartingWith("layer 'log': cannot append to " + dir.resolve("missing/io.log"));
        assertThatIllegalArgumentException()
                .isThrownBy(() -> LayerCatalog.wrap("log:path=x", MemoryBlockDevice.create(SIZE)))
                .withMessage("layer 'log': unknown parameter 'path'; accepted: file");
    }
}
