package dev.sprout.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Main declares only the subcommand a run names, so its name table must agree with the
 * declarations; and each declaration must bind its arguments to the right fields.
 */
class MainTest {

    @Test
    void everySubcommandIsFoundByTheNameItDeclares() {
        assertThat(Main.COMMANDS).hasSize(9);
        for (Main.Subcommand command : Main.COMMANDS) {
            assertThat(command.declaration().get().name()).isEqualTo(command.name());
            assertThat(Main.command(command.name())).isSameAs(command);
        }
        assertThat(Main.command("nonsense")).isNull();
    }

    @Test
    void helpStillListsEverySubcommand() {
        String help = stdout(() -> assertThat(Main.execute("--help")).isZero());
        for (Main.Subcommand command : Main.COMMANDS) {
            assertThat(help).contains("  " + command.name() + " ");
        }
    }

    @Test
    void aSubcommandStillParsesAndShowsItsOwnHelp() {
        String help = stdout(() -> assertThat(Main.execute("copy", "--help")).isZero());
        assertThat(help).startsWith("Usage: sprout copy");
        assertThat(help).contains("--requests=N|auto      Requests in flight at most, of 1 MiB");
    }

    @Test
    void everySubcommandPrintsTheVersion() {
        for (Main.Subcommand command : Main.COMMANDS) {
            String version = stdout(() -> assertThat(Main.execute(command.name(), "--version")).isZero());
            assertThat(version).as(command.name()).isEqualTo(CommandDeclaration.VERSION + System.lineSeparator());
        }
    }

    @Test
    void optionsAndParametersLandInTheirOwnFields() {
        CopyCommand copy = new CopyCommand();
        new CommandLine(copy.declare()).parseArgs("--requests", "8", "-O", "qcow2", "--compress", "zstd",
                "--partition", "2", "--connections", "1", "--flush", "--progress", "in.img", "out.qcow2");
        assertThat(copy.source).isEqualTo("in.img");
        assertThat(copy.destination).isEqualTo("out.qcow2");
        assertThat(copy.requests).isEqualTo("8");
        assertThat(copy.format).isEqualTo("qcow2");
        assertThat(copy.compress).isEqualTo("zstd");
        assertThat(copy.partition).isEqualTo(2);
        assertThat(copy.connections).isEqualTo("1");
        assertThat(copy.flush).isTrue();
        assertThat(copy.progress).isTrue();

        CreateCommand create = new CreateCommand();
        new CommandLine(create.declare()).parseArgs("-b", "base.img", "-F", "raw", "-c", "4K", "overlay.qcow2");
        assertThat(create.backing).isEqualTo("base.img");
        assertThat(create.backingFormat).isEqualTo("raw");
        assertThat(create.clusterSize).isEqualTo("4K");
        assertThat(create.file).isEqualTo(Path.of("overlay.qcow2"));
        assertThat(create.size).isNull();
    }

    @Test
    void fieldsKeepTheirDefaultsWhenTheirOptionIsNotGiven() {
        CopyCommand copy = new CopyCommand();
        new CommandLine(copy.declare()).parseArgs("a", "b");
        assertThat(copy.format).isEqualTo("raw");
        assertThat(copy.requests).isEqualTo("auto");
        assertThat(copy.connections).isEqualTo("auto");
        assertThat(copy.partition).isNull();
        assertThat(copy.flush).isFalse();

        ServeCommand serve = new ServeCommand();
        new CommandLine(serve.declare()).parseArgs("memory", "1M");
        assertThat(serve.port).isEqualTo(10809);
        assertThat(serve.exportName).isEmpty();
        assertThat(serve.layers).isEmpty();
    }

    @Test
    void repeatedOptionsAndTrailingParametersCollectInOrder() {
        ServeCommand serve = new ServeCommand();
        new CommandLine(serve.declare()).parseArgs("-l", "delay:read=1", "--layer", "stats", "-p", "0", "-r",
                "file", "disk.img");
        assertThat(serve.layers).containsExactly("delay:read=1", "stats");
        assertThat(serve.backend).containsExactly("file", "disk.img");
        assertThat(serve.port).isZero();
        assertThat(serve.readOnly).isTrue();
    }

    @Test
    void aValueOfTheWrongTypeIsRefusedNamingTheOption() {
        StringWriter err = new StringWriter();
        CommandLine commandLine = new CommandLine(new CopyCommand().declare()).setErr(new PrintWriter(err, true));
        assertThat(commandLine.execute("--partition", "many", "a", "b")).isEqualTo(2);
        assertThat(err.toString()).startsWith("Invalid value for option '--partition': 'many' is not an int");
    }

    /** Checked before either end is opened: a missing source is not what gets reported. */
    @Test
    void requestsTakeAutoOrAPositiveNumber() {
        for (String bad : new String[] {"0", "-3", "many"}) {
            String err = stderr(() -> assertThat(Main.execute("copy", "--requests", bad, "missing.img", "out.img"))
                    .isEqualTo(2));
            assertThat(err).isEqualTo("sprout: --requests takes auto or a number of at least 1, not '" + bad + "'\n");
        }
    }

    @Test
    void aMissingParameterIsRefusedNamingIt() {
        StringWriter err = new StringWriter();
        CommandLine commandLine = new CommandLine(new CopyCommand().declare()).setErr(new PrintWriter(err, true));
        assertThat(commandLine.execute("a")).isEqualTo(2);
        assertThat(err.toString()).startsWith("Missing required parameter: 'DST'");
        assertThat(new CommandLine(new SparsifyCommand().declare()).setErr(new PrintWriter(new StringWriter()))
                .execute("image.img")).as("OUTPUT may be left out").isNotEqualTo(2);
    }

    /** Annotations would be read at start-up, each type costing a generated proxy class (see CommandDeclaration). */
    @Test
    void noCommandIsDeclaredByAnnotations() {
        for (Main.Subcommand command : Main.COMMANDS) {
            CommandSpec spec = command.declaration().get();
            Class<?> type = spec.userObject().getClass();
            assertThat(type.getDeclaredAnnotations()).as(type.getName()).isEmpty();
            for (Field field : type.getDeclaredFields()) {
                assertThat(field.getDeclaredAnnotations()).as(field.toString()).isEmpty();
            }
        }
        assertThat(List.of(Main.class.getDeclaredAnnotations())).isEmpty();
    }

    private static String stdout(Runnable run) {
        return captured(System.out, System::setOut, run);
    }

    private static String stderr(Runnable run) {
        return captured(System.err, System::setErr, run);
    }

    /** What {@code run} printed to the stream that {@code set} replaces, {@code original} restored after. */
    private static String captured(PrintStream original, Consumer<PrintStream> set, Runnable run) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        set.accept(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            run.run();
        } finally {
            set.accept(original);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
