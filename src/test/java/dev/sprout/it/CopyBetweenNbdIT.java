package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
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

    /** Fills the export with random bytes, then copies {@code source}'s export over it and compares. */
    private void copyOverUsedExport(Path image, String source, String destination) throws Exception {
        Path junk = dir.resolve("junk.img");
        Cmd.run("dd", "if=/dev/urandom", "of=" + junk, "bs=1M", "count=" + SIZE / MiB, "status=none").assertSuccess();
        sprout("copy", junk.toString(), destination).assertSuccess();
        Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", image.toString(), destination).assertExit(1);

        Cmd.Result copy = sprout("copy", source, destination).assertSuccess();
        assertThat(copy.stderr()).contains("copied 64.0M");
        Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", image.toString(), destination).assertSuccess();
    }

    @Test
    void fromNbdkitIntoNbdkitMemoryWithAndWithoutWriteZeroes() throws Exception {
        Path image = NbdcopyIT.sparseRandomImage(dir.resolve("source.img"), SIZE, 31);
        Path from = dir.resolve("from.sock");
        Path to = dir.resolve("to.sock");
        Path toNoZero = dir.resolve("tonz.sock");
        try (NbdClientInteropIT.Server ignored = NbdClientInteropIT.Server.start(dir, from,
                     "nbdkit", "-f", "-r", "-U", from.toString(), "file", image.toString());
             NbdClientInteropIT.Server ignored2 = NbdClientInteropIT.Server.start(dir, to,
                     "nbdkit", "-f", "-U", to.toString(), "memory", String.valueOf(SIZE));
             NbdClientInteropIT.Server ignored3 = NbdClientInteropIT.Server.start(dir, toNoZero,
                     "nbdkit", "-f", "-U", toNoZero.toString(), "--filter=nozero", "memory", String.valueOf(SIZE))) {
            copyOverUsedExport(image, unix(from), unix(to));
            Cmd.Result info = Cmd.run("nbdinfo", unix(toNoZero)).assertSuccess();
            assertThat(info.stdout()).as("the nozero filter's export").contains("can_zero: false");
            copyOverUsedExport(image, unix(from), unix(toNoZero));
        }
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
        try (NbdClientInteropIT.Server ignored = NbdClientInteropIT.Server.start(dir, from,
                     "nbdkit", "-f", "-r", "-U", from.toString(), "file", image.toString());
             NbdClientInteropIT.Server ignored2 = NbdClientInteropIT.Server.start(dir, fresh,
                     "nbdkit", "-f", "-U", fresh.toString(), "memory", String.valueOf(SIZE));
             NbdClientInteropIT.Server ignored3 = NbdClientInteropIT.Server.start(dir, used,
                     "nbdkit", "-f", "-U", used.toString(), "memory", String.valueOf(SIZE))) {
            for (String source : List.of(image.toString(), unix(from))) {
                sprout("copy", "--target-is-zero", source, unix(fresh)).assertSuccess();
                Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", image.toString(), unix(fresh)).assertSuccess();

                Path junk = dir.resolve("junk.img");
                Cmd.run("dd", "if=/dev/urandom", "of=" + junk, "bs=1M", "count=" + SIZE / MiB, "status=none").assertSuccess();
                sprout("copy", junk.toString(), unix(used)).assertSuccess();
                sprout("copy", "--target-is-zero", source, unix(used)).assertSuccess();
                Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", image.toString(), unix(used)).assertExit(1);
                sprout("copy", source, unix(used)).assertSuccess();
                Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "raw", image.toString(), unix(used)).assertSuccess();
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
        try (NbdClientInteropIT.Server ignored = NbdClientInteropIT.Server.start(dir, from,
                     "nbdkit", "-f", "-r", "-U", from.toString(), "file", image.toString());
             NbdClientInteropIT.Server ignored2 = NbdClientInteropIT.Server.start(dir, to,
                     "qemu-nbd", "-t", "-k", to.toString(), "-f", "raw", "-e", "4", target.toString())) {
            copyOverUsedExport(image, unix(from), unix(to));
        }
        Cmd.run("cmp", image.toString(), target.toString()).assertSuccess();
    }
}
