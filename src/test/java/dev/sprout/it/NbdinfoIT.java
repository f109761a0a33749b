package dev.sprout.it;

import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** libnbd's {@code nbdinfo}: what the handshake advertises, the export list and the allocation map. */
class NbdinfoIT {

    private static final long SEVEN_EXBIBYTES = 7L << 60;
    private static final long MiB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void memoryExportIsWritableWithEveryCapabilityAtSevenExbibytes() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "memory", "7E")) {
            Map<String, Object> export = info(server.uri());

            assertThat(export.get("export-size")).isEqualTo(SEVEN_EXBIBYTES).isEqualTo(8070450532247928832L);
            assertThat(export.get("is_read_only")).isEqualTo(false);
            assertThat(export).containsEntry("can_cache", true).containsEntry("can_df", true)
                    .containsEntry("can_fast_zero", true).containsEntry("can_flush", true)
                    .containsEntry("can_fua", true).containsEntry("can_multi_conn", true)
                    .containsEntry("can_trim", true).containsEntry("can_zero", true);
            assertThat(export.get("contexts")).asInstanceOf(InstanceOfAssertFactories.LIST)
                    .contains("base:allocation");
            assertSaneBlockSizes(export);
            assertThat(export.get("block_size_minimum")).as("a RAM disk takes any byte").isEqualTo(1L);
        }
    }

    @Test
    void readOnlyExportRefusesTrimAndZero() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "-r", "memory", "1G")) {
            Map<String, Object> export = info(server.uri());

            assertThat(export.get("export-size")).isEqualTo(1L << 30);
            assertThat(export).containsEntry("is_read_only", true)
                    .containsEntry("can_trim", false).containsEntry("can_zero", false)
                    .containsEntry("can_fast_zero", false);
            assertSaneBlockSizes(export);
        }
    }

    @ParameterizedTest
    @CsvSource({"zero, 1G, 1073741824", "pattern, 7E, 8070450532247928832", "pattern, 9223372036854775807, 9223372036854775807"})
    void zeroAndPatternBackendsAreReadOnly(String backend, String size, long bytes) throws Exception {
        try (SproutServer server = SproutServer.start(dir, backend, size)) {
            Map<String, Object> export = info(server.uri());

            assertThat(export.get("export-size")).isEqualTo(bytes);
            assertThat(export).containsEntry("is_read_only", true)
                    .containsEntry("can_trim", false).containsEntry("can_zero", false);
            assertSaneBlockSizes(export);
        }
    }

    @Test
    void listShowsTheExportNameAndDescription() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "-e", "scratch", "-D", "a disk for tests", "memory", "64M")) {
            Map<String, Object> list = Json.object(Cmd.run("nbdinfo", "--list", "--json", server.uri()).assertSuccess().stdout());

            List<Map<String, Object>> exports = exports(list);
            assertThat(exports).hasSize(1);
            assertThat(exports.getFirst()).containsEntry("export-name", "scratch")
                    .containsEntry("description", "a disk for tests")
                    .containsEntry("export-size", 64 * MiB);

            String text = Cmd.run("nbdinfo", "--list", server.uri()).assertSuccess().stdout();
            assertThat(text).contains("export=\"scratch\"").contains("description: a disk for tests");
        }
    }

    @Test
    void connectingToAnUnknownExportNameFails() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "-e", "scratch", "memory", "64M")) {
            Cmd.Result wrong = Cmd.run("nbdinfo", "--size", server.uri("other"));
            assertThat(wrong.exitCode()).as("%s", wrong).isNotZero();

            assertThat(Cmd.run("nbdinfo", "--size", server.uri("scratch")).assertSuccess().stdout().strip())
                    .isEqualTo(Long.toString(64 * MiB));
        }
    }

    @Test
    void mapShowsDataWhereWrittenAndHolesElsewhere() throws Exception {
        try (SproutServer server = SproutServer.start(dir, "memory", "16M")) {
            assertThat(map(server.uri())).as("a fresh disk").containsExactly(new Extent(0, 16 * MiB, 3));

            Cmd.nbdsh(server.uri(), """
                    h.pwrite(b"\\x5a" * (1 << 20), 1 << 20)
                    h.pwrite(b"\\xa5" * (1 << 20), 8 << 20)
                    h.pwrite(b"\\x01" * 4096, 12 << 20)
                    h.trim(1 << 20, 12 << 20)
                    """);

            assertThat(map(server.uri())).containsExactly(
                    new Extent(0, MiB, 3),
                    new Extent(MiB, MiB, 0),
                    new Extent(2 * MiB, 6 * MiB, 3),
                    new Extent(8 * MiB, MiB, 0),
                    new Extent(9 * MiB, 7 * MiB, 3));

            String totals = Cmd.run("nbdinfo", "--map", "--totals", server.uri()).assertSuccess().stdout();
            assertThat(totals).containsPattern("\\s+" + 2 * MiB + "\\s+12\\.5%\\s+0 data")
                    .containsPattern("\\s+" + 14 * MiB + "\\s+87\\.5%\\s+3 hole,zero");
        }
    }

    /** One run of the allocation map: {@code type} 0 is data, 3 is hole and zero. */
    record Extent(long offset, long length, long type) {
    }

    /** {@code nbdinfo --map}, with neighbours of the same type merged (the split is the server's choice). */
    private static List<Extent> map(String uri) {
        List<Extent> merged = new ArrayList<>();
        for (Map<String, Object> e : Json.objects(Cmd.run("nbdinfo", "--map", "--json", uri).assertSuccess().stdout())) {
            Extent next = new Extent((Long) e.get("offset"), (Long) e.get("length"), (Long) e.get("type"));
            if (!merged.isEmpty() && merged.getLast().type() == next.type()
                    && merged.getLast().offset() + merged.getLast().length() == next.offset()) {
                Extent last = merged.removeLast();
                next = new Extent(last.offset(), last.length() + next.length(), next.type());
            }
            merged.add(next);
        }
        return merged;
    }

    private static Map<String, Object> info(String uri) {
        Cmd.Result result = Cmd.run("nbdinfo", "--json", uri).assertSuccess();
        List<Map<String, Object>> exports = exports(Json.object(result.stdout()));
        assertThat(exports).hasSize(1);
        return exports.getFirst();
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> exports(Map<String, Object> info) {
        assertThat(info).containsEntry("protocol", "newstyle-fixed").containsEntry("structured", true);
        return (List<Map<String, Object>>) info.get("exports");
    }

    /** proto.md "Block size constraints": powers of two, minimum <= preferred <= maximum. */
    private static void assertSaneBlockSizes(Map<String, Object> export) {
        long minimum = (Long) export.get("block_size_minimum");
        long preferred = (Long) export.get("block_size_preferred");
        long maximum = (Long) export.get("block_size_maximum");
        assertThat(Long.bitCount(minimum)).as("minimum %d is a power of two", minimum).isEqualTo(1);
        assertThat(Long.bitCount(preferred)).as("preferred %d is a power of two", preferred).isEqualTo(1);
        assertThat(minimum).isLessThanOrEqualTo(preferred).isLessThanOrEqualTo(64 * 1024);
        assertThat(preferred).isBetween(512L, 32 * MiB).isLessThanOrEqualTo(maximum);
        assertThat(maximum).as("room for the kernel's 32 MiB requests").isGreaterThanOrEqualTo(32 * MiB);
    }
}
