package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code serve --config}: several exports, each with its own stack, listed by nbdinfo and served by name. */
class ConfigFileIT {

    @TempDir
    Path dir;

    @Test
    void everyExportOfTheFileIsListedAndServedWithItsOwnStack() throws Exception {
        Path io = dir.resolve("io.log");
        Path config = dir.resolve("exports.toml");
        Files.writeString(config, """
                [export.scratch]
                backend = "memory 1G"
                description = "scratch RAM disk"
                layers = ["log:file=%s"]

                [export.base]
                backend = ["pattern", "64M"]
                read-only = true
                """.formatted(io));
        try (SproutServer server = SproutServer.start(dir, "--config", config.toString())) {
            String listing = Cmd.run("nbdinfo", "--list", "--json", server.uri("")).assertSuccess().stdout();
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> exports = (List<Map<String, Object>>) Json.object(listing).get("exports");
            assertThat(exports).extracting(e -> e.get("export-name")).containsExactly("scratch", "base");
            assertThat(exports.get(0).get("description")).isEqualTo("scratch RAM disk");
            assertThat(exports.get(0).get("is_read_only")).isEqualTo(false);
            assertThat(exports.get(1).get("is_read_only")).isEqualTo(true);
            assertThat(exports.get(1).get("export-size")).isEqualTo(64L << 20);

            Cmd.nbdsh(server.uri("scratch"), "h.pwrite(b'hello', 4096); assert h.pread(5, 4096) == b'hello'");
            Cmd.nbdsh(server.uri(""), "assert h.pread(5, 4096) == b'hello', 'the first export is the default'");
            Cmd.nbdsh(server.uri("base"), """
                    import struct
                    assert struct.unpack('>Q', h.pread(8, 1 << 20))[0] == 1 << 20
                    """);
        }
        assertThat(Files.readString(io)).contains("op=write offset=4096 length=5");
    }

    @Test
    void aBadFileStopsTheServerWithTheLineAndTheProblem() throws Exception {
        Path config = dir.resolve("bad.toml");
        Files.writeString(config, "[export.a]\nbackend = \"memory 1G\"\nlayers = [\"bogus\"]\n");
        Cmd.Result result = Cmd.run(SproutServer.command("serve", "-U", dir.resolve("s").toString(),
                "--config", config.toString()).toArray(String[]::new));
        assertThat(result.exitCode()).isNotZero();
        assertThat(result.stderr().strip()).isEqualTo("sprout: unknown layer 'bogus'; known layers: "
                + "cow, crash, delay, error, log, offset, partition, readonly, stats");
    }
}
