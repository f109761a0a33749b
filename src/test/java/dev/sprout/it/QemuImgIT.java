package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code qemu-img}, which negotiates one connection and asks BLOCK_STATUS with REQ_ONE only. */
class QemuImgIT {

    private static final long MiB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void infoShowsARawImageOfTheExportSize() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "memory", "3G")) {
            Map<String, Object> info = Json.object(
                    Cmd.run("qemu-img", "info", "--output=json", server.uri()).assertSuccess().stdout());

            assertThat(info).containsEntry("format", "raw").containsEntry("virtual-size", 3L << 30);
        }
    }

    @Test
    void convertIntoTheExportThenCompareFindsItIdenticalUntilAByteChanges() throws Exception {
        long seed = System.nanoTime();
        Path source = NbdcopyIT.sparseRandomImage(dir.resolve("source.img"), 32 * MiB, seed);
        try (SproutServer server = SproutServer.start(dir, "memory", "32M")) {
            Cmd.run("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", source.toString(), server.uri())
                    .assertSuccess();

            Cmd.Result same = Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(), server.uri());
            assertThat(same.exitCode()).as("seed %d: %s", seed, same).isZero();
            assertThat(same.stdout()).contains("Images are identical.");

            long changed = 20 * MiB + 12345;
            int old;
            try (RandomAccessFile file = new RandomAccessFile(source.toFile(), "r")) {
                file.seek(changed);
                old = file.read();
            }
            String pattern = String.format("0x%02x", old ^ 0x5a);
            Cmd.run("qemu-io", "-f", "raw", "-c", "write -P " + pattern + " " + changed + " 1", server.uri())
                    .assertSuccess();

            Cmd.Result different = Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", source.toString(), server.uri());
            assertThat(different.exitCode()).as("%s", different).isEqualTo(1);
            assertThat(different.stdout()).contains("Content mismatch at offset " + (changed - changed % 512) + "!");
        }
    }

    @Test
    void mapAgreesWithWhatWasWritten() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "memory", "64M")) {
            Cmd.run("qemu-io", "-f", "raw",
                    "-c", "write -P 0x11 1M 2M",
                    "-c", "write -z 2M 512k",
                    "-c", "write -P 0x22 10M 64k",
                    "-c", "write -P 0x33 63M 1M",
                    "-c", "discard 63M 512k",
                    server.uri()).assertSuccess();

            List<long[]> data = new ArrayList<>();
            long covered = 0;
            for (Map<String, Object> e : Json.objects(
                    Cmd.run("qemu-img", "map", "-f", "raw", "--output=json", server.uri()).assertSuccess().stdout())) {
                long start = (Long) e.get("start");
                long length = (Long) e.get("length");
                assertThat(start).as("contiguous map").isEqualTo(covered);
                covered += length;
                assertThat(e.get("zero")).as("zero flag at %d", start).isEqualTo(!(Boolean) e.get("data"));
                if ((Boolean) e.get("data")) {
                    if (!data.isEmpty() && data.getLast()[1] == start) {
                        data.getLast()[1] = start + length;
                    } else {
                        data.add(new long[] {start, start + length});
                    }
                }
            }
            assertThat(covered).isEqualTo(64 * MiB);
            assertThat(data).containsExactly(
                    new long[] {MiB, 2 * MiB},
                    new long[] {2 * MiB + 512 * 1024, 3 * MiB},
                    new long[] {10 * MiB, 10 * MiB + 64 * 1024},
                    new long[] {63 * MiB + 512 * 1024, 64 * MiB});
        }
    }
}
