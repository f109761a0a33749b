package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code sprout copy URI URI} between servers nobody here wrote: out of nbdkit serving a sparse
 * image, into an export already full of other bytes, so that every hole of the source must be
 * zeroed there. Into nbdkit memory (WRITE_ZEROES), into nbdkit memory whose nozero filter takes
 * WRITE_ZEROES away (zeroes are written instead), and into qemu-nbd serving a raw file. qemu-img
 * compares each destination with the source image.
 */
class CopyBetweenNbdIT {

    private static final long MiB = 1 << 20;
    private static final long SIZE = 64 * MiB;

    @TempDir
    Path dir;

    private static Cmd.Result sprout(String... args) {
        return Cmd.run(SproutServer.command(args).toArray(String[]::new));
    }

    private static String unix(Path socket) {
        return "nbd+unix:///?socket=" + socket;
    }

    /** {@code qemu-img compare} of the source image with an export: exit 0 identical, 1 different. */
    private static Cmd.Result compare(Path image, String export) {
        return Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", image.toString(), export);
    }

    /** nbdkit serving {@code image} read-only on {@code socket}. */
    private NbdClientInteropIT.Server nbdkitFile(Path socket, Path image) throws Exception {
        return NbdClientInteropIT.Server.start(dir, socket, "nbdkit", "-f", "-r", "-U", socket.toString(), "file",
                image.toString());
    }

    /** nbdkit serving a new memory export of {@link #SIZE} bytes on {@code socket}, behind {@code filters}. */
    private NbdClientInteropIT.Server nbdkitMemory(Path socket, String... filters) throws Exception {
        List<String> command = new ArrayList<>(List.of("nbdkit", "-f", "-U", socket.toString()));
        command.addAll(List.of(filters));
        command.addAll(List.of("memory", String.valueOf(SIZE)));
        return NbdClientInteropIT.Server.start(dir, socket, command.toArray(String[]::new));
    }

    /** Fills the export with random bytes, so that every hole of a copy must be zeroed there. */
    private void fillWithJunk(String export) {
        Path junk = dir.resolve("junk.img");
        Cmd.run("dd", "if=/dev/urandom", "of=" + junk, "bs=1M", "count=" + SIZE / MiB, "status=none").assertSuccess();
        sprout("copy", junk.toString(), export).assertSuccess();
    }

    /** Fills the export with random bytes, then copies {@code source}'s export over it and compares. */
    private void copyOverUsedExport(Path image, String source, String destination) {
        fillWithJunk(destination);
        compare(image, destination).assertExit(1);

        Cmd.Result copy = sprout("copy", source, destination).assertSuccess();
        assertThat(copy.stderr()).contains("copied 64.0M");
        compare(image, destination).assertSuccess();
    }

    @Test
    void fromNbdkitIntoNbdkitMemoryWithAndWithoutWriteZeroes() throws Exception {
        Path image = NbdcopyIT.sparseRandomImage(dir.resolve("source.img"), SIZE, 31);
        Path from = dir.resolve("from.sock");
        Path to = dir.resolve("to.sock");
        Path toNoZero = dir.resolve("tonz.sock");
        try (NbdClientInteropIT.Server ignored = nbdkitFile(from, image);
             NbdClientInteropIT.Server ignored2 = nbdkitMemory(to);
             NbdClientInteropIT.Server ignored3 = nbdkitMemory(toNoZero, "--filter=nozero")) {
            copyOverUsedExport(image, unix(from), unix(to));
            Cmd.Result info = Cmd.run("nbdinfo", unix(toNoZero)).assertSuccess();
            assertThat(info.stdout()).as("the nozero filter's export").contains("can_zero: false");
            copyOverUsedExport(image, unix(from), unix(toNoZero));
        }
    }

    /**
     * Between two Unix sockets the shipped jar moves the data with splice(2) (which needs the
     * manifest's Add-Exports to reach a socket's descriptor): strace counts the calls, one per
     * 64 KiB step of data at least, and the copy is exact.
     */
    @Test
    void betweenUnixSocketsTheDataIsSplicedInTheKernel() throws Exception {
        Path image = NbdcopyIT.sparseRandomImage(dir.resolve("source.img"), SIZE, 34);
        Path from = dir.resolve("from.sock");
        Path to = dir.resolve("to.sock");
        Path calls = dir.resolve("strace.txt");
        try (NbdClientInteropIT.Server ignored = nbdkitFile(from, image);
             NbdClientInteropIT.Server ignored2 = nbdkitMemory(to)) {
            List<String> traced = new ArrayList<>(List.of("strace", "-f", "-qq", "-c", "-e", "trace=splice", "-o", calls.toString()));
            traced.addAll(SproutServer.command("copy", "--json", unix(from), unix(to)));
            Cmd.Result copy = Cmd.run(traced.toArray(String[]::new)).assertSuccess();
            long data = Long.parseLong(copy.stdout().replaceAll("(?s).*\"data_bytes\": *([0-9]+).*", "$1"));
            assertThat(data).as("data bytes copied").isGreaterThan(4 * MiB);
            assertThat(spliceCalls(Files.readString(calls))).as("splice calls (strace -c)").isGreaterThanOrEqualTo(data / (64 * 1024));
            compare(image, unix(to)).assertSuccess();
        }
    }

    /** The call count in the {@code splice} row of {@code strace -c}'s table, 0 when it has none. */
    private static long spliceCalls(String table) {
        for (String line : table.lines().toList()) {
            String[] columns = line.trim().split("\\s+");
            if (columns.length >= 5 && columns[columns.length - 1].equals("splice")) {
                return Long.parseLong(columns[3]);
            }
        }
        return 0;
    }

    /**
     * {@code --target-is-zero}: the user vouches that the destination reads as zeroes, so its holes
     * are left alone. Into a new export the copy is exact; into a used one the old bytes stay in
     * the holes, which shows nothing was zeroed. From a file and from an NBD export alike.
     */
    @Test
    void withTargetIsZeroTheDestinationsHolesAreLeftAlone() throws Exception {
        Path image = NbdcopyIT.sparseRandomImage(dir.resolve("source.img"), SIZE, 33);
        Path from = dir.resolve("from.sock");
        Path fresh = dir.resolve("fresh.sock");
        Path used = dir.resolve("used.sock");
        try (NbdClientInteropIT.Server ignored = nbdkitFile(from, image);
             NbdClientInteropIT.Server ignored2 = nbdkitMemory(fresh);
             NbdClientInteropIT.Server ignored3 = nbdkitMemory(used)) {
            for (String source : List.of(image.toString(), unix(from))) {
                sprout("copy", "--target-is-zero", source, unix(fresh)).assertSuccess();
                compare(image, unix(fresh)).assertSuccess();

                fillWithJunk(unix(used));
                sprout("copy", "--target-is-zero", source, unix(used)).assertSuccess();
                compare(image, unix(used)).assertExit(1);
                sprout("copy", source, unix(used)).assertSuccess();
                compare(image, unix(used)).assertSuccess();
            }
        }
    }

    @Test
    void fromNbdkitIntoQemuNbd() throws Exception {
        Path image = NbdcopyIT.sparseRandomImage(dir.resolve("source.img"), SIZE, 32);
        Path target = dir.resolve("target.img");
        Cmd.run("truncate", "-s", String.valueOf(SIZE), target.toString()).assertSuccess();
        Path from = dir.resolve("from.sock");
        Path to = dir.resolve("to.sock");
        try (NbdClientInteropIT.Server ignored = nbdkitFile(from, image);
             NbdClientInteropIT.Server ignored2 = NbdClientInteropIT.Server.start(dir, to,
                     "qemu-nbd", "-t", "-k", to.toString(), "-f", "raw", "-e", "4", target.toString())) {
            copyOverUsedExport(image, unix(from), unix(to));
        }
        Cmd.run("cmp", image.toString(), target.toString()).assertSuccess();
    }
}
