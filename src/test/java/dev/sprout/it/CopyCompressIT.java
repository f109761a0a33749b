package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code sprout copy --compress zstd|deflate -O qcow2}: seed images that qemu-img finds clean,
 * identical to the source and of the compression type asked for; byte-identical from one run to
 * the next; read back by sprout itself.
 */
class CopyCompressIT {

    @TempDir
    Path dir;

    /** An ext4 file system of 64 MiB holding text files (they compress) and random ones (they do not). */
    private Path ext4Image() throws Exception {
        Path tree = Files.createDirectories(dir.resolve("tree"));
        Random random = new Random(3);
        for (int i = 0; i < 40; i++) {
            StringBuilder text = new StringBuilder();
            while (text.length() < 100_000) {
                text.append("file ").append(i).append(" line ").append(random.nextInt(100_000)).append('\n');
            }
            Files.writeString(tree.resolve("text-" + i + ".txt"), text, StandardCharsets.US_ASCII);
            byte[] noise = new byte[50_000];
            random.nextBytes(noise);
            Files.write(tree.resolve("noise-" + i + ".bin"), noise);
        }
        Path image = dir.resolve("fs.img");
        Cmd.run("mkfs.ext4", "-q", "-E", "lazy_itable_init=0,lazy_journal_init=0", "-d", tree.toString(),
                image.toString(), "64M").assertSuccess();
        return image;
    }

    private static Cmd.Result sprout(String... args) {
        return Cmd.run(SproutServer.command(args).toArray(String[]::new));
    }

    private void assertSeedImage(Path source, Path image, String qemuType) throws Exception {
        Cmd.Result check = Cmd.run("qemu-img", "check", "-f", "qcow2", image.toString());
        assertThat(check.exitCode()).as("qemu-img check: %s", check).isZero();
        assertThat(check.stdout()).contains("No errors were found").contains("compressed clusters");
        Cmd.run("qemu-img", "compare", "-f", "raw", "-F", "qcow2", source.toString(), image.toString()).assertSuccess();
        Map<String, Object> info = Json.object(
                Cmd.run("qemu-img", "info", "--output=json", image.toString()).assertSuccess().stdout());
        @SuppressWarnings("unchecked")
        Map<String, Object> specific = (Map<String, Object>) ((Map<String, Object>) info.get("format-specific")).get("data");
        assertThat(specific).containsEntry("compression-type", qemuType);

        assertThat(sprout("compare", source.toString(), image.toString()).assertSuccess().stdout())
                .contains("Images are identical.");
        Path back = dir.resolve("back-" + qemuType + ".img");
        sprout("copy", image.toString(), back.toString()).assertSuccess();
        Cmd.run("cmp", source.toString(), back.toString()).assertSuccess();
    }

    @Test
    void zstdAndDeflateSeedImagesAreCleanIdenticalAndReproducible() throws Exception {
        Path source = ext4Image();
        for (String type : new String[] {"zstd", "deflate"}) {
            Path first = dir.resolve(type + "-1.qcow2");
            Path second = dir.resolve(type + "-2.qcow2");
            sprout("copy", "--compress", type, "-O", "qcow2", source.toString(), first.toString()).assertSuccess();
            sprout("copy", "--compress", type, "-O", "qcow2", "--requests", "3", source.toString(), second.toString())
                    .assertSuccess();
            assertThat(Files.mismatch(first, second)).as("%s: two conversions differ at that byte", type).isEqualTo(-1);
            assertThat(Files.size(first)).as("%s image is smaller than the data", type)
                    .isLessThan(Cmd.allocatedBytes(source));
            assertSeedImage(source, first, type.equals("zstd") ? "zstd" : "zlib");
        }
    }

    @Test
    void zstdImagesAreAboutAsSmallAsQemuImgs() throws Exception {
        Path source = ext4Image();
        Path ours = dir.resolve("sprout.qcow2");
        Path qemus = dir.resolve("qemu.qcow2");
        sprout("copy", "--compress", "zstd", "-O", "qcow2", source.toString(), ours.toString()).assertSuccess();
        Cmd.run("qemu-img", "convert", "-c", "-f", "raw", "-O", "qcow2", "-o", "compression_type=zstd",
                source.toString(), qemus.toString()).assertSuccess();
        assertThat((double) Files.size(ours)).as("sprout %d bytes, qemu-img %d", Files.size(ours), Files.size(qemus))
                .isLessThan(1.1 * Files.size(qemus));
    }

    @Test
    void compressWantsANewQcow2FileAndSaysSoInOneLine() throws Exception {
        Path source = dir.resolve("small.img");
        Files.write(source, new byte[1 << 20]);
        Cmd.Result raw = sprout("copy", "--compress", "zstd", source.toString(), dir.resolve("out.img").toString());
        assertThat(raw.exitCode()).isEqualTo(2);
        assertThat(raw.stderr().strip()).isEqualTo("sprout: --compress writes qcow2 images only: add -O qcow2");
        Cmd.Result unknown = sprout("copy", "--compress", "lz4", "-O", "qcow2", source.toString(),
                dir.resolve("out.qcow2").toString());
        assertThat(unknown.exitCode()).isEqualTo(2);
        assertThat(unknown.stderr().strip()).isEqualTo("sprout: unknown compression 'lz4': zstd or deflate");
        try (SproutServer server = SproutServer.start(dir, "memory", "1M")) {
            Cmd.Result toNbd = sprout("copy", "--compress", "zstd", "-O", "qcow2", source.toString(), server.uri());
            assertThat(toNbd.exitCode()).isEqualTo(2);
            assertThat(toNbd.stderr().strip()).startsWith("sprout: --compress writes a new qcow2 file, not nbd+unix:");
        }
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).doesNotContain("out.img", "out.qcow2");
        }
    }
}
