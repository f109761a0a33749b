package dev.sprout.cli;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

class ExportConfigTest {

    @Test
    void readsExportsInOrderWithTheirStacks() {
        List<ExportSpec> exports = ExportConfig.parse("x.toml", """
                # comment
                [export.ram]
                backend = "memory 1G"   # trailing comment
                description = "scratch \\"disk\\""

                [export."base image"]
                backend = ["file", "/a path/base.img"]
                layers = ["log:file=io.log", 'cow:block=4K']
                read-only = true
                """);

        assertThat(exports).hasSize(2);
        assertThat(exports.get(0)).isEqualTo(new ExportSpec("ram", "scratch \"disk\"",
                new BackendSpec("memory", List.of("1G")), List.of(), false));
        assertThat(exports.get(1)).isEqualTo(new ExportSpec("base image", null,
                new BackendSpec("file", List.of("/a path/base.img")), List.of("log:file=io.log", "cow:block=4K"), true));
    }

    @Test
    void mistakesNameTheFileLineAndWhatIsAccepted() {
        assertThatIllegalArgumentException().isThrownBy(() -> ExportConfig.parse("x.toml", "[export.a]\nbackend = memory 1G\n"))
                .withMessageStartingWith("x.toml:2: ").withMessageContaining("strings need quotes");
        assertThatIllegalArgumentException().isThrownBy(() -> ExportConfig.parse("x.toml", "[export.a]\nbakend = \"memory 1G\"\n"))
                .withMessageContaining("unknown key 'bakend'; accepted: backend, description, layers, read-only");
        assertThatIllegalArgumentException().isThrownBy(() -> ExportConfig.parse("x.toml", "[exports.a]\nbackend = \"null 1\"\n"))
                .withMessageContaining("unknown table [exports.a]");
        assertThatIllegalArgumentException().isThrownBy(() -> ExportConfig.parse("x.toml", "[export.a]\nlayers = []\n"))
                .withMessageContaining("'backend' is missing");
        assertThatIllegalArgumentException().isThrownBy(() -> ExportConfig.parse("x.toml", "# nothing\n"))
                .withMessageContaining("no [export.NAME] table");
        assertThatIllegalArgumentException().isThrownBy(() -> ExportConfig.parse("x.toml", "[export.a]\nbackend = \"x\nfoo\n"))
                .withMessageStartingWith("x.toml:2: unterminated string");
        assertThatIllegalArgumentException().isThrownBy(() -> ExportConfig.parse("x.toml", "[export.a]\n[export.a]\n"))
                .withMessageContaining("appears twice");
    }
}
