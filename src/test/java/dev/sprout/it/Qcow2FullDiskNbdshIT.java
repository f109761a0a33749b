package dev.sprout.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full host disk under a qcow2 image (issue 4: "A full host disk also gives ENOSPC, never
 * corruption"). The image lives on a 48 MiB tmpfs beside an 8 MiB filler file; nbdsh writes
 * distinct 1 MiB chunks through {@code sprout serve} until writes fail. Every failure must be
 * ENOSPC, the server must keep answering, and the flush after it must succeed, so every
 * acknowledged chunk survives; after a clean stop {@code qemu-img check} finds no corruption and
 * no leaks, the chunks read back identical through {@code qemu-img convert}, and each cluster of
 * a failed write holds either its new data or its old zeroes. Deleting the filler makes room:
 * served again, writes succeed and the image is still clean. Needs root (it mounts the tmpfs).
 */
class Qcow2FullDiskNbdshIT {

    private static final int MiB = 1 << 20;
    private static final int CLUSTER = 64 << 10;
    /** Chunk i lands at slot (i * 37) % 512 of 2 MiB each, 12 KiB in: partial clusters, both L2 tables. */
    private static final String CHUNKS = """
            import json
            MiB = 1 << 20
            def offset(i): return ((i * 37) % 512) * 2 * MiB + 12288
            def data(i): return (b"%07d\\n" % i) * (MiB // 8)
            """;
    private static final String UNTIL_FULL = CHUNKS + """
            acked, failed, errors = [], [], []
            i = 0
            while len(errors) < 3 and i < 300:
                try:
                    h.pwrite(data(i), offset(i))
                    acked.append(i)
                except nbd.Error as e:
                    failed.append(i)
                    errors.append(e.errno)
                i += 1
            zero = "ok"
            try:
                h.zero(4 * 65536, ((i * 37) % 512) * 2 * MiB, nbd.CMD_FLAG_NO_HOLE)
            except nbd.Error as e:
                zero = e.errno
            flush = "ok"
            try:
                h.flush()
            except nbd.Error as e:
                flush = e.errno
            mismatched = [j for j in acked if h.pread(MiB, offset(j)) != data(j)]
            for j in failed:
                h.pread(MiB, offset(j))
            print(json.dumps({"acked": acked, "failed": failed, "errors": errors, "zero": zero,
                              "flush": flush, "mismatched": mismatched}))
            """;
    @TempDir
    Path dir;

    @Test
    void aFullHostDiskGivesEnospcAndLeavesTheImageCleanWithEveryAcknowledgedWrite() throws Exception {
        Cmd.Result id = Cmd.run("id", "-u");
        Assumptions.assumeTrue(id.stdout().strip().equals("0"), "mounting a tmpfs needs root (uid " + id.stdout().strip() + ")");
        Path mnt = Files.createDirectory(dir.resolve("tmpfs"));
        Cmd.Result mount = Cmd.run("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", mnt.toString());
        Assumptions.assumeTrue(mount.exitCode() == 0, "cannot mount a tmpfs here: " + mount.stderr().strip());
        try {
            fillThenFreeSpace(mnt);
        } finally {
            Cmd.Result umount = Cmd.run("umount", mnt.toString());
            if (umount.exitCode() != 0) {
                Cmd.run("umount", "-l", mnt.toString());
            }
        }
    }

    private void fillThenFreeSpace(Path mnt) throws IOException {
        Path filler = mnt.resolve("filler");
        // Not a whole number of clusters: the write that fills the disk stops part-way into one.
        Files.write(filler, new byte[8 * MiB + 20 * 1024]);
        Path image = mnt.resolve("disk.qcow2");
        Cmd.run(SproutServer.command("create", "-f", "qcow2", image.toString(), "1G").toArray(String[]::new))
                .assertSuccess();

        Map<String, Object> full;
        try (SproutServer server = SproutServer.start(dir, image.toString())) {
            full = Json.object(Cmd.nbdsh(server.uri(), UNTIL_FULL).stdout());
            assertThat(server.isAlive()).as("sprout after ENOSPC").isTrue();
            Cmd.nbdsh(server.uri(), CHUNKS + "assert h.pread(MiB, offset(0)) == data(0)");
        }
        List<Long> acked = longs(full.get("acked"));
        List<Long> failed = longs(full.get("failed"));
        assertThat(full.get("errors")).as("every failed write's errno: %s", full).isEqualTo(List.of("ENOSPC", "ENOSPC", "ENOSPC"));
        assertThat(full.get("zero")).as("WRITE_ZEROES with NO_HOLE on the full disk").isIn("ok", "ENOSPC");
        assertThat(full.get("flush")).as("FLUSH after the failures: %s", full).isEqualTo("ok");
        assertThat(full.get("mismatched")).as("acknowledged chunks read back wrong").isEqualTo(List.of());
        assertThat(acked.size()).as("chunks written before the disk filled").isBetween(20, 40);
        assertClean(image);
        assertContent(image, acked, failed);

        Files.delete(filler);
        List<Long> more = List.of(400L, 401L, 402L, 403L);
        try (SproutServer server = SproutServer.start(dir, image.toString())) {
            Cmd.nbdsh(server.uri(), CHUNKS + "acked = " + acked + "\nmore = " + more + """

                    for i in more:
                        h.pwrite(data(i), offset(i))
                    h.flush()
                    for j in acked + more:
                        assert h.pread(MiB, offset(j)) == data(j), j
                    """);
        }
        List<Long> all = new ArrayList<>(acked);
        all.addAll(more);
        assertClean(image);
        assertContent(image, all, failed);
    }

    /** qemu-img check and sprout check: exit 0, no errors, no corruptions, no leaks. */
    private static void assertClean(Path image) {
        Cmd.Result check = Cmd.run("qemu-img", "check", "--output=json", image.toString());
        assertThat(check.exitCode()).as("qemu-img check: %s", check).isZero();
        assertThat(Json.object(check.stdout())).containsEntry("check-errors", 0L).doesNotContainKeys("corruptions", "leaks");
        Cmd.run(SproutServer.command("check", image.toString()).toArray(String[]::new)).assertSuccess();
    }

    /**
     * Through qemu-img convert: each of {@code acked} reads as written; each cluster a failed write
     * touched holds either that write's data or zeroes, never a mix or anything else.
     */
    private void assertContent(Path image, List<Long> acked, List<Long> failed) throws IOException {
        Path raw = dir.resolve("disk.raw");
        Files.deleteIfExists(raw);
        Cmd.run("qemu-img", "convert", "-U", "-f", "qcow2", "-O", "raw", image.toString(), raw.toString()).assertSuccess();
        try (RandomAccessFile file = new RandomAccessFile(raw.toFile(), "r")) {
            for (long i : acked) {
                assertThat(read(file, offset(i), MiB)).as("chunk %d at %d", i, offset(i)).isEqualTo(data(i));
            }
            for (long i : failed) {
                byte[] written = new byte[3 * CLUSTER + MiB];
                long first = offset(i) / CLUSTER * CLUSTER;
                System.arraycopy(data(i), 0, written, (int) (offset(i) - first), MiB);
                for (long at = first; at < offset(i) + MiB; at += CLUSTER) {
                    byte[] cluster = read(file, at, CLUSTER);
                    byte[] wanted = Arrays.copyOfRange(written, (int) (at - first), (int) (at - first) + CLUSTER);
                    assertThat(Arrays.equals(cluster, wanted) || Arrays.equals(cluster, new byte[CLUSTER]))
                            .as("cluster at %d of failed chunk %d: its new data or zeroes", at, i).isTrue();
                }
            }
        }
    }

    private static byte[] read(RandomAccessFile file, long offset, int length) throws IOException {
        byte[] bytes = new byte[length];
        file.seek(offset);
        file.readFully(bytes);
        return bytes;
    }

    private static long offset(long i) {
        return (i * 37 % 512) * 2 * MiB + 12288;
    }

    private static byte[] data(long i) {
        return String.format("%07d\n", i).repeat(MiB / 8).getBytes(StandardCharsets.US_ASCII);
    }

    @SuppressWarnings("unchecked")
    private static List<Long> longs(Object list) {
        return (List<Long>) list;
    }
}
