package dev.sprout.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.block.ZeroFlags;
import dev.sprout.client.NbdBlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sprout serve} on a qcow2 overlay, killed with SIGKILL at a random moment while sprout's
 * NBD client writes, zeroes, trims and flushes over two connections: afterwards
 * {@code qemu-img check} finds no corruption (leaks are allowed) and everything a FLUSH or FUA
 * made durable before the kill reads back through qemu-img. Each seed kills a fresh overlay twice:
 * the second run serves the image the first crash left. {@code -Dkill.seed=N} replays a run,
 * {@code -Dkill.seeds=N} sets how many.
 */
class Qcow2KillNineIT {

    private static final long SIZE = 32 << 20;
    private static final int SECTORS = (int) (SIZE / CrashModel.SECTOR);
    private static final int WORKERS = 8;
    private static final long BASE_ID = 0xff_ffff;
    private static final int[] CLUSTER_SIZES = {512, 4096, 65536};

    @TempDir
    Path dir;

    @Test
    void killNineUnderLoadLosesNothingFlushedAndLeavesNoCorruption() throws Exception {
        long first = Long.getLong("kill.seed", System.nanoTime() & 0xffff_ffffL);
        int seeds = Integer.getInteger("kill.seeds", 16);
        Files.write(dir.resolve("base.img"), CrashModel.data(BASE_ID, 0, (int) SIZE).array());
        for (long seed = first; seed < first + seeds; seed++) {
            Random random = new Random(seed);
            int clusterSize = CLUSTER_SIZES[random.nextInt(CLUSTER_SIZES.length)];
            int chunk = random.nextBoolean() ? 16 << 10 : 64 << 10;
            Path overlay = dir.resolve("overlay-" + seed + ".qcow2");
            Cmd.run(SproutServer.command("create", "-c", String.valueOf(clusterSize), "-b", "base.img", "-F", "raw",
                    overlay.toString()).toArray(String[]::new)).assertSuccess();
            long[] content = new long[SECTORS];
            java.util.Arrays.fill(content, BASE_ID);
            AtomicLong ids = new AtomicLong();
            for (int round = 1; round <= 2; round++) {
                String run = "seed " + seed + " round " + round + " (cluster " + clusterSize + ", chunk " + chunk
                        + "; replay with -Dkill.seed=" + seed + " -Dkill.seeds=1)";
                CrashModel model = new CrashModel(content, WORKERS);
                try (SproutServer server = SproutServer.start(dir, overlay.toString())) {
                    loadUntilKilled(server, model, random, ids, chunk);
                }
                System.out.println(run + ": " + model.summary());
                assertNoCorruption(overlay, run);
                content = readBack(overlay, model, run);
            }
            Files.delete(overlay);
        }
    }

    /** Workers and a flusher on two connections until the server is killed, 100 to 900 ms in. */
    private static void loadUntilKilled(SproutServer server, CrashModel model, Random random, AtomicLong ids, int chunk)
            throws Exception {
        long killAfter = 100 + random.nextInt(800);
        AtomicBoolean killed = new AtomicBoolean();
        NbdBlockDevice one = NbdBlockDevice.connect(server.uri());
        NbdBlockDevice two = NbdBlockDevice.connect(server.uri());
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> running = new ArrayList<>();
            for (int w = 0; w < WORKERS; w++) {
                int worker = w;
                Random own = new Random(random.nextLong());
                NbdBlockDevice via = w % 2 == 0 ? one : two;
                running.add(threads.submit(() -> work(via, model, worker, own, ids, chunk, killed)));
            }
            Random flushes = new Random(random.nextLong());
            running.add(threads.submit(() -> flushLoop(one, model, flushes, killed)));
            Thread.sleep(killAfter);
            killed.set(true);
            server.crash();
            for (Future<?> f : running) {
                f.get();
            }
        } finally {
            closeQuietly(one);
            closeQuietly(two);
        }
    }

    /** One request at a time on the worker's own chunks, until the server is gone. */
    private static Void work(NbdBlockDevice device, CrashModel model, int worker, Random random, AtomicLong ids,
                             int chunk, AtomicBoolean killed) {
        int chunks = (int) (SIZE / chunk);
        for (int index = 0; ; index++) {
            long start = (long) chunk * (worker + WORKERS * random.nextInt(chunks / WORKERS));
            int sectors = chunk / CrashModel.SECTOR;
            int from = random.nextInt(sectors);
            long offset = start + (long) from * CrashModel.SECTOR;
            int length = CrashModel.SECTOR * (1 + random.nextInt(random.nextInt(4) == 0 ? sectors - from
                    : Math.min(8, sectors - from)));
            int roll = random.nextInt(100);
            CrashModel.Kind kind = roll < 65 ? CrashModel.Kind.WRITE : roll < 85 ? CrashModel.Kind.ZERO : CrashModel.Kind.TRIM;
            boolean fua = random.nextInt(15) == 0;
            long id = kind == CrashModel.Kind.WRITE ? ids.incrementAndGet() : 0;
            model.sending(worker, new CrashModel.Request(index, id, offset, length, kind, fua));
            try {
                switch (kind) {
                    case WRITE -> device.write(offset, CrashModel.data(id, offset, length), fua);
                    case ZERO -> device.zero(offset, length, new ZeroFlags(random.nextBoolean(), false, fua));
                    case TRIM -> device.trim(offset, length, fua);
                }
            } catch (IOException e) {
                assertThat(killed).as("request failed before the kill: %s", e).isTrue();
                return null;
            }
            model.answered(worker);
        }
    }

    private static Void flushLoop(NbdBlockDevice device, CrashModel model, Random random, AtomicBoolean killed)
            throws InterruptedException {
        while (true) {
            Thread.sleep(random.nextInt(25));
            int[] before = model.beforeFlush();
            try {
                device.flush();
            } catch (IOException e) {
                assertThat(killed).as("flush failed before the kill: %s", e).isTrue();
                return null;
            }
            model.flushAnswered(before);
        }
    }

    /** qemu-img check: exit 0 (clean) or 3 (leaks only), never corruptions. */
    private static void assertNoCorruption(Path overlay, String run) {
        Cmd.Result check = Cmd.run("qemu-img", "check", "--output=json", overlay.toString());
        System.out.println(run + ": qemu-img check exit " + check.exitCode());
        assertThat(check.exitCode()).as("%s: qemu-img check\n%s%s", run, check.stdout(), check.stderr()).isIn(0, 3);
        Map<String, Object> report = Json.object(check.stdout());
        assertThat(report).as("%s: qemu-img check", run).containsEntry("check-errors", 0L).doesNotContainKey("corruptions");
    }

    /** The overlay's content as a raw file, converted by qemu-img. */
    private Path rawCopy(Path overlay) {
        Path raw = dir.resolve("readback.raw");
        Cmd.run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", overlay.toString(), raw.toString()).assertSuccess();
        return raw;
    }

    /** The overlay's content through qemu-img, every sector checked against the model; returns it as ids. */
    private long[] readBack(Path overlay, CrashModel model, String run) throws IOException {
        Path raw = rawCopy(overlay);
        Map<Integer, Set<Long>> allowed = model.allowed();
        List<String> problems = new ArrayList<>();
        long[] content = new long[SECTORS];
        try (FileChannel file = FileChannel.open(raw)) {
            ByteBuffer all = file.map(FileChannel.MapMode.READ_ONLY, 0, SIZE);
            for (int s = 0; s < SECTORS; s++) {
                content[s] = model.check(s, all.slice(s * CrashModel.SECTOR, CrashModel.SECTOR), allowed, problems);
            }
        }
        Files.delete(raw);
        assertThat(problems).as("%s: sectors that lost flushed data or read wrong", run).isEmpty();
        return content;
    }

    private static void closeQuietly(NbdBlockDevice device) {
        try {
            device.close();
        } catch (IOException | RuntimeException e) {
            // the server is gone; nothing to close cleanly
        }
    }
}
