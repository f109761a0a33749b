package dev.sprout.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine.Command;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** Main builds only the subcommand a run names, so its name table must agree with the annotations. */
class MainTest {

    @Test
    void everySubcommandIsFoundByTheNameItsAnnotationGives() {
        assertThat(Main.COMMANDS).hasSize(9);
        for (Class<?> command : Main.COMMANDS) {
            String name = command.getAnnotation(Command.class).name();
            assertThat(Main.command(name)).as(name).isEqualTo(command);
        }
        assertThat(Main.command("nonsense")).isNull();
    }

    @Test
    void helpStillListsEverySubcommand() {
        String help = stdout(() -> assertThat(Main.execute("--help")).isZero());
        for (Class<?> command : Main.COMMANDS) {
            assertThat(help).contains("  " + command.getAnnotation(Command.class).name() + " ");
        }
    }

    @Test
    void aSubcommandStillParsesAndShowsItsOwnHelp() {
        String help = stdout(() -> assertThat(Main.execute("copy", "--help")).isZero());
        assertThat(help).startsWith("Usage: sprout copy");
    }

    private static String stdout(Runnable run) {
        PrintStream original = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            run.run();
        } finally {
            System.setOut(original);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
