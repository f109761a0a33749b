package dev.sprout.format.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.tool.ImageOpener;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * An overlay qemu-io wrote with host clusters back to back in some runs and out of order in
 * others (clusters written last to first), between zero clusters, unallocated clusters (read from a
 * raw backing file that ends mid-cluster, then zeroes), compressed clusters and partly written
 * clusters, read at offsets and lengths that straddle every boundary: byte for byte what
 * {@code qemu-img convert -O raw} makes of it.
 */
class MixedLayoutReadsTest {

    private static final long SEED = 0x5eed_c1a5L;

    @TempDir
    Path dir;

    /** What one stretch of guest clusters holds, and how qemu-io writes it. */
    private enum Stretch { IN_ORDER, LAST_TO_FIRST, ZERO, BACKING, COMPRESSED, PARTLY_WRITTEN }

    @ParameterizedTest
    @ValueSource(ints = {512, 4096, 65536})
    void readsEveryStraddlingRangeLikeQemuImgConvert(int clusterSize) throws IOException {
        int clusters = clusterSize == 512 ? 1100 : 160; // 512-byte clusters: reads span more than one lock window
        long size = (long) clusters * clusterSize;
        byte[] expected = overlay(clusterSize, clusters, new Random(SEED + clusterSize));
        assertThat(expected.length).isEqualTo(size);
        assertLayoutMixes(dir.resolve("overlay.qcow2"), clusterSize);

        Random random = new Random(SEED ^ clusterSize);
        try (Qcow2Image image = Qcow2Image.open(dir.resolve("overlay.qcow2"), true, ImageOpener.BACKING_FILES)) {
            assertSame(image, expected, 0, (int) size, false, "whole image");
            for (int chunk : new int[] {256 << 10, 3 * clusterSize + 1}) {
                for (int at = 0; at < size; at += chunk) {
                    assertSame(image, expected, at, (int) Math.min(chunk, size - at), true, "chunk of " + chunk);
                }
            }
            for (int i = 0; i < 600; i++) {
                int offset = i % 2 == 0
                        ? (int) Math.floorMod((long) random.nextInt(clusters) * clusterSize + random.nextInt(9) - 4, size)
                        : random.nextInt((int) size);
                int most = (int) Math.min(size - offset, 8L * clusterSize);
                int length = 1 + random.nextInt(most);
                assertSame(image, expected, offset, length, random.nextBoolean(), "seed " + SEED + " read " + i);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"4096, false", "65536, false", "65536, true"})
    void readIfReadyAnswersWithQemuImgConvertsBytesOrLeavesTheBufferAlone(int clusterSize, boolean readOnly)
            throws IOException {
        int clusters = 160;
        long size = (long) clusters * clusterSize;
        byte[] expected = overlay(clusterSize, clusters, new Random(SEED + clusterSize));
        Random random = new Random(SEED);
        int answered = 0;
        try (Qcow2Image image = Qcow2Image.open(dir.resolve("overlay.qcow2"), readOnly, ImageOpener.BACKING_FILES)) {
            image.read(0, ByteBuffer.allocateDirect((int) size)); // into the page cache
            for (int i = 0; i < 400; i++) {
                int offset = random.nextInt((int) size);
                int length = 1 + random.nextInt((int) Math.min(size - offset, 6L * clusterSize));
                ByteBuffer dst = ByteBuffer.allocateDirect(length + 16).position(8).limit(8 + length);
                if (image.readIfReady(offset, dst)) {
                    answered++;
                    assertThat(dst.position()).isEqualTo(8 + length);
                    assertBytes(dst.position(8), expected, offset, "readIfReady " + i + " at " + offset + "+" + length);
                } else {
                    assertThat(dst.position()).as("position after a refusal").isEqualTo(8);
                    assertThat(dst.limit()).as("limit after a refusal").isEqualTo(8 + length);
                }
            }
        }
        assertThat(answered).as("reads answered from the page cache").isPositive();
    }

    /**
     * Makes {@code overlay.qcow2} over {@code backing.raw} (ending mid-cluster, three quarters in)
     * with stretches of every kind in random order, and returns its content as qemu-img converts it.
     */
    private byte[] overlay(int clusterSize, int clusters, Random random) throws IOException {
        long size = (long) clusters * clusterSize;
        Path backing = dir.resolve("backing.raw");
        byte[] backingBytes = new byte[(int) (size * 3 / 4 - clusterSize / 2)];
        random.nextBytes(backingBytes);
        Files.write(backing, backingBytes);
        Path overlay = dir.resolve("overlay.qcow2");
        Files.deleteIfExists(overlay);
        Qemu.run("qemu-img", "create", "-f", "qcow2", "-o", "cluster_size=" + clusterSize, "-b", "backing.raw",
                "-F", "raw", overlay.toString(), Long.toString(size)).assertSuccess();

        List<List<String>> writes = new ArrayList<>();
        Stretch[] kinds = Stretch.values();
        for (int at = 0; at < clusters; ) {
            int n = Math.min(clusters - at, 1 + random.nextInt(4));
            writes.add(commands(kinds[random.nextInt(kinds.length)], at, n, clusterSize, random));
            at += n;
        }
        Collections.shuffle(writes, random); // so that neighbouring stretches rarely sit side by side in the host file
        List<String> command = new ArrayList<>(List.of("qemu-io", "-f", "qcow2"));
        for (List<String> stretch : writes) {
            for (String write : stretch) {
                command.add("-c");
                command.add(write);
            }
        }
        command.add(overlay.toString());
        Qemu.run(command.toArray(String[]::new)).assertSuccess();
        Qemu.assertClean(overlay);

        Path raw = dir.resolve("expected.raw");
        Files.deleteIfExists(raw);
        Qemu.run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", overlay.toString(), raw.toString()).assertSuccess();
        return Files.readAllBytes(raw);
    }

    private List<String> commands(Stretch kind, int first, int count, int clusterSize, Random random) throws IOException {
        long at = (long) first * clusterSize;
        int length = count * clusterSize;
        List<String> commands = new ArrayList<>();
        switch (kind) {
            case IN_ORDER -> commands.add("write -q -s " + source(length, random) + " " + at + " " + length);
            case LAST_TO_FIRST -> {
                for (int c = first + count - 1; c >= first; c--) {
                    commands.add("write -q -s " + source(clusterSize, random) + " " + (long) c * clusterSize + " " + clusterSize);
                }
            }
            case ZERO -> commands.add("write -q -z " + at + " " + length);
            case BACKING -> {
            }
            case COMPRESSED -> {
                for (int c = first; c < first + count; c++) {
                    commands.add("write -q -c -s " + compressible(clusterSize, random) + " " + (long) c * clusterSize + " "
                            + clusterSize);
                }
            }
            case PARTLY_WRITTEN -> commands.add("write -q -s " + source(length / 2, random) + " "
                    + (at + length / 4) + " " + length / 2);
        }
        return commands;
    }

    /** A new file of {@code length} random bytes for qemu-io's {@code write -s}. */
    private Path source(int length, Random random) throws IOException {
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        Path source = Files.createTempFile(dir, "source", ".bin");
        Files.write(source, bytes);
        return source;
    }

    /**
     * A new file of {@code length} bytes, an eighth random and the rest one random byte repeated,
     * which qemu stores compressed (it stores what does not shrink uncompressed).
     */
    private Path compressible(int length, Random random) throws IOException {
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        java.util.Arrays.fill(bytes, length / 8, length, bytes[0]);
        Path source = Files.createTempFile(dir, "compressible", ".bin");
        Files.write(source, bytes);
        return source;
    }

    /** The layout must hold what the merge must get right: adjacent data clusters both back to back and not. */
    private static void assertLayoutMixes(Path image, int clusterSize) throws IOException {
        String json = Qemu.run("qemu-img", "map", "--output=json", image.toString()).assertSuccess().stdout();
        List<Map<String, Object>> entries = QemuMap.parse(json);
        boolean runOfSeveral = false;
        long[] lastDataEnd = {-1, -1}; // guest end, host end of the previous data entry
        boolean outOfOrder = false;
        for (Map<String, Object> e : entries) {
            if (Boolean.TRUE.equals(e.get("data")) && e.containsKey("offset") && Long.valueOf(0).equals(e.get("depth"))) {
                long start = (Long) e.get("start");
                long offset = (Long) e.get("offset");
                runOfSeveral |= (Long) e.get("length") > clusterSize;
                outOfOrder |= start == lastDataEnd[0] && offset != lastDataEnd[1];
                lastDataEnd[0] = start + (Long) e.get("length");
                lastDataEnd[1] = offset + (Long) e.get("length");
            }
        }
        assertThat(runOfSeveral).as("host clusters back to back for a run of guest clusters:\n%s", json).isTrue();
        assertThat(outOfOrder).as("neighbouring guest clusters apart in the host file:\n%s", json).isTrue();
        assertThat(json).contains("\"depth\": 1").contains("\"zero\": true");
        String check = Qemu.run("qemu-img", "check", "--output=json", image.toString()).assertSuccess().stdout();
        assertThat(check).as("compressed clusters").containsPattern("\"compressed-clusters\": [1-9]");
    }

    private static void assertSame(Qcow2Image image, byte[] expected, int offset, int length, boolean direct, String what)
            throws IOException {
        ByteBuffer dst = direct ? ByteBuffer.allocateDirect(length + 3) : ByteBuffer.allocate(length + 3);
        dst.position(3);
        image.read(offset, dst);
        assertThat(dst.position()).as(what).isEqualTo(length + 3);
        assertBytes(dst.position(3), expected, offset, what + " at " + offset + "+" + length);
    }

    private static void assertBytes(ByteBuffer got, byte[] expected, int offset, String what) {
        for (int k = 0; got.hasRemaining(); k++) {
            byte b = got.get();
            if (b != expected[offset + k]) {
                throw new AssertionError(what + ": byte " + (offset + k) + " is " + b + ", qemu-img convert says "
                        + expected[offset + k]);
            }
        }
    }
}
