package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code sprout info --json} against the peers' own reports: {@code qemu-img info --output=json}
 * for raw and qcow2 images (format, sizes, cluster size, compression type, refcount width, lazy
 * refcounts, dirty and corrupt flags, backing file and chain) and {@code nbdinfo --json} for NBD
 * exports served by sprout, nbdkit and qemu-nbd (size, flags, block sizes, every metadata context
 * the server offers).
 */
class InfoIT {

    private static final long MiB = 1 << 20;

    @TempDir
    Path dir;

    private static Map<String, Object> sproutInfo(String image) {
        return Json.object(Cmd.run(SproutServer.command("info", "--json", image).toArray(String[]::new))
                .assertSuccess().stdout());
    }

    private static Map<String, Object> qemuInfo(Path image) {
        return Json.object(Cmd.run("qemu-img", "info", "--output=json", image.toString()).assertSuccess().stdout());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> formatSpecific(Map<String, Object> qemu) {
        return (Map<String, Object>) ((Map<String, Object>) qemu.get("format-specific")).get("data");
    }

    /** Every qcow2 fact sprout shows agrees with qemu-img's. */
    private static void assertSameQcow2Info(Path image) {
        Map<String, Object> ours = sproutInfo(image.toString());
        Map<String, Object> qemu = qemuInfo(image);
        Map<String, Object> specific = formatSpecific(qemu);
        assertThat(ours).as("%s", image)
                .containsEntry("format", qemu.get("format"))
                .containsEntry("virtual_size", qemu.get("virtual-size"))
                .containsEntry("cluster_size", qemu.get("cluster-size"))
                .containsEntry("dirty", qemu.get("dirty-flag"))
                .containsEntry("refcount_bits", specific.get("refcount-bits"))
                .containsEntry("version", specific.get("compat").equals("0.10") ? 2L : 3L);
        // Version 2 images have none of these; qemu-img leaves them out.
        for (String key : List.of("compression-type", "corrupt", "lazy-refcounts")) {
            if (specific.containsKey(key)) {
                assertThat(ours).as(key).containsEntry(key.replace('-', '_'), specific.get(key));
            }
        }
        assertThat(ours.get("backing_file")).isEqualTo(qemu.get("backing-filename"));
        assertThat(ours.get("backing_format")).isEqualTo(qemu.get("backing-filename-format"));
    }

    @Test
    void qcow2ImagesOfEveryFlavourAgreeWithQemuImgInfo() throws Exception {
        Path plain = dir.resolve("plain.qcow2");
        Cmd.run("qemu-img", "create", "-f", "qcow2", plain.toString(), "1G").assertSuccess();
        Cmd.run("qemu-io", "-c", "write -P 1 0 3M", plain.toString()).assertSuccess();
        assertSameQcow2Info(plain);

        Path zstd = dir.resolve("zstd.qcow2");
        Cmd.run("qemu-img", "create", "-f", "qcow2", "-o", "compression_type=zstd,cluster_size=16384,refcount_bits=8",
                zstd.toString(), "100M").assertSuccess();
        Cmd.run("qemu-io", "-c", "write -c -P 2 0 64k", zstd.toString()).assertSuccess();
        assertSameQcow2Info(zstd);
        assertThat(sproutInfo(zstd.toString())).containsEntry("compression_type", "zstd");

        Path v2 = dir.resolve("v2.qcow2");
        Cmd.run("qemu-img", "create", "-f", "qcow2", "-o", "compat=0.10", v2.toString(), "10M").assertSuccess();
        assertSameQcow2Info(v2);

        // Lazy refcounts and a process that dies with writes outstanding: the dirty bit stays set.
        Path dirty = dir.resolve("dirty.qcow2");
        Cmd.run("qemu-img", "create", "-f", "qcow2", "-o", "lazy_refcounts=on", dirty.toString(), "10M").assertSuccess();
        Cmd.run("qemu-io", "-c", "write -P 3 0 64k", "-c", "abort", dirty.toString());
        assertThat(qemuInfo(dirty)).containsEntry("dirty-flag", true);
        assertSameQcow2Info(dirty);

        // The corrupt bit (incompatible feature bit 1, the last byte of the big-endian field at 72).
        Path corrupt = dir.resolve("corrupt.qcow2");
        Cmd.run("qemu-img", "create", "-f", "qcow2", corrupt.toString(), "10M").assertSuccess();
        try (RandomAccessFile file = new RandomAccessFile(corrupt.toFile(), "rw")) {
            file.seek(79);
            file.write(2);
        }
        assertThat(formatSpecific(qemuInfo(corrupt))).containsEntry("corrupt", true);
        assertSameQcow2Info(corrupt);
    }

    @Test
    void aBackingChainIsListedAsQemuImgFollowsIt() {
        Path base = dir.resolve("base.raw");
        Cmd.run("qemu-img", "create", "-f", "raw", base.toString(), "4M").assertSuccess();
        Path mid = dir.resolve("mid.qcow2");
        Cmd.run("qemu-img", "create", "-f", "qcow2", "-b", "base.raw", "-F", "raw", mid.toString()).assertSuccess();
        Path top = dir.resolve("top.qcow2");
        Cmd.run("qemu-img", "create", "-f", "qcow2", "-b", mid.toString(), "-F", "qcow2", top.toString()).assertSuccess();
        assertSameQcow2Info(top);
        assertSameQcow2Info(mid);
        List<?> chain = (List<?>) Json.parse(Cmd.run("qemu-img", "info", "--output=json", "--backing-chain", top.toString())
                .assertSuccess().stdout());
        @SuppressWarnings("unchecked")
        List<Object> ours = (List<Object>) sproutInfo(top.toString()).get("backing_chain");
        assertThat(ours).hasSize(chain.size() - 1);
        assertThat(ours.get(0).toString()).contains(mid.toString());
        assertThat(ours.get(1).toString()).contains(base.toString());
    }

    @Test
    void aRawFileShowsItsSizeAndAllocationLikeQemuImg() throws Exception {
        Path raw = dir.resolve("disk.img");
        Cmd.run("qemu-img", "create", "-f", "raw", raw.toString(), "64M").assertSuccess();
        Cmd.run("qemu-io", "-f", "raw", "-c", "write -P 1 1M 3M", "-c", "write -P 2 40M 1M", raw.toString()).assertSuccess();
        Map<String, Object> ours = sproutInfo(raw.toString());
        Map<String, Object> qemu = qemuInfo(raw);
        assertThat(ours).containsEntry("format", "raw").containsEntry("virtual_size", qemu.get("virtual-size"));
        assertThat((Long) ours.get("allocated_bytes")).isCloseTo((Long) qemu.get("actual-size"),
                org.assertj.core.data.Offset.offset(64 * 1024L));
    }

    /** The export facts nbdinfo --json reports, keyed as sprout names them. */
    private static void assertSameAsNbdinfo(Map<String, Object> ours, Map<String, Object> nbdinfo) {
        @SuppressWarnings("unchecked")
        Map<String, Object> export = ((List<Map<String, Object>>) nbdinfo.get("exports")).getFirst();
        assertThat(ours).containsEntry("format", "nbd").containsEntry("virtual_size", export.get("export-size"));
        for (String flag : List.of("is_read_only", "is_rotational", "can_flush", "can_fua", "can_trim", "can_zero",
                "can_fast_zero", "can_df", "can_cache", "can_multi_conn")) {
            assertThat(ours).as(flag).containsEntry(flag, export.get(flag));
        }
        for (String size : List.of("block_size_minimum", "block_size_preferred", "block_size_maximum")) {
            if (export.containsKey(size)) {
                assertThat(ours).as(size).containsEntry(size, export.get(size));
            }
        }
        @SuppressWarnings("unchecked")
        List<Object> contexts = (List<Object>) export.get("contexts");
        @SuppressWarnings("unchecked")
        List<Object> ourContexts = (List<Object>) ours.get("contexts");
        assertThat(ourContexts).as("contexts").containsExactlyInAnyOrderElementsOf(contexts).contains("base:allocation");
    }

    /**
     * qemu-nbd offers more than base:allocation: with {@code -A} its allocation depth, with
     * {@code -B} a dirty bitmap. info lists every context (as nbdinfo does), not only the one it
     * negotiated, in JSON and in text.
     */
    @Test
    void everyContextQemuNbdOffersIsListedLikeNbdinfo() throws Exception {
        Path image = dir.resolve("bitmap.qcow2");
        Cmd.run("qemu-img", "create", "-q", "-f", "qcow2", image.toString(), "16M").assertSuccess();
        Cmd.run("qemu-img", "bitmap", "--add", image.toString(), "b0").assertSuccess();
        Path socket = dir.resolve("qemu.sock");
        String uri = "nbd+unix:///?socket=" + socket;
        try (NbdClientInteropIT.Server ignored = NbdClientInteropIT.Server.start(dir, socket, "qemu-nbd", "-t", "-r",
                "-k", socket.toString(), "-A", "-B", "b0", "-f", "qcow2", image.toString())) {
            Map<String, Object> ours = sproutInfo(uri);
            assertSameAsNbdinfo(ours, Json.object(Cmd.run("nbdinfo", "--json", uri).assertSuccess().stdout()));
            assertThat(ours.get("contexts")).asList()
                    .contains("base:allocation", "qemu:allocation-depth", "qemu:dirty-bitmap:b0");
            String text = Cmd.run(SproutServer.command("info", uri).toArray(String[]::new)).assertSuccess().stdout();
            assertThat(text).contains("contexts: [base:allocation, qemu:allocation-depth, qemu:dirty-bitmap:b0]");
        }
    }

    @Test
    void nbdExportsAgreeWithNbdinfo() throws Exception {
        Path image = dir.resolve("disk.img");
        Cmd.run("qemu-img", "create", "-f", "raw", image.toString(), "8M").assertSuccess();
        for (List<String> args : List.of(List.of("memory", "16M"), List.of("-r", "file", image.toString()))) {
            try (SproutServer server = SproutServer.start(dir, args.toArray(String[]::new))) {
                Map<String, Object> ours = sproutInfo(server.uri());
                assertSameAsNbdinfo(ours, Json.object(Cmd.run("nbdinfo", "--json", server.uri()).assertSuccess().stdout()));
            }
        }
        String sprout = String.join(" ", SproutServer.command("info", "--json", "\"$uri\""));
        for (String nbdkit : List.of("memory 1M", "-r memory 1M",
                "--filter=blocksize-policy memory 4M blocksize-minimum=512 blocksize-preferred=4096 blocksize-maximum=1M")) {
            String ours = Cmd.sh(Cmd.TIMEOUT, "nbdkit -U - " + nbdkit + " --run '" + sprout + "'").assertSuccess().stdout();
            String theirs = Cmd.sh(Cmd.TIMEOUT, "nbdkit -U - " + nbdkit + " --run 'nbdinfo --json \"$uri\"'")
                    .assertSuccess().stdout();
            assertSameAsNbdinfo(Json.object(ours), Json.object(theirs));
        }
    }
}
