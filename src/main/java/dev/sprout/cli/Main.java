package dev.sprout.cli;

import dev.sprout.os.ImageLock;
import dev.sprout.os.NativeFile;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.List;

/** The {@code sprout} command: dispatches to its subcommands. */
@Command(name = "sprout", mixinStandardHelpOptions = true, version = "sprout 0.1.0",
        description = "Serve virtual disks over NBD and work with disk images.")
public final class Main {

    /** The subcommands, in the order help lists them. */
    static final List<Class<?>> COMMANDS = List.of(ServeCommand.class, PartitionsCommand.class, CreateCommand.class,
            CopyCommand.class, MapCommand.class, CompareCommand.class, InfoCommand.class, SparsifyCommand.class,
            CheckCommand.class);

    private Main() {
    }

    public static void main(String[] args) {
        // Binding a libc call through FFM costs a cold JVM 10-20 ms; for the image tools the calls
        // every tool makes on a file (and the image lock's) are bound on the other core while
        // picocli builds its model here. Not for serve: a RAM or null disk needs no libc, and on two
        // cores the binding delayed its first answer by ~80 ms (a file backend binds when it opens).
        if (args.length == 0 || !args[0].equals("serve")) {
            Thread.ofPlatform().daemon(true).name("bind-libc").start(Main::prepareNativeCalls);
        }
        System.exit(execute(args));
    }

    private static void prepareNativeCalls() {
        NativeFile.prepare();
        ImageLock.available();
    }

    /** Runs the command line and returns the exit status (for tests and main). */
    static int execute(String... args) {
        CommandLine commandLine = new CommandLine(new Main());
        // picocli reflects over every option of every subcommand it is given; a run names its
        // subcommand first, so only that one is built (help and mistakes still see them all).
        Class<?> named = args.length == 0 ? null : command(args[0]);
        for (Class<?> command : named != null ? List.<Class<?>>of(named) : COMMANDS) {
            commandLine.addSubcommand(command);
        }
        commandLine.setExecutionExceptionHandler((failure, cmd, parsed) -> {
            cmd.getErr().println("sprout: " + oneLine(failure));
            return failure instanceof IllegalArgumentException ? 2 : 1;
        });
        return commandLine.execute(args);
    }

    /** The subcommand called {@code name} (as its {@code @Command} names it), or null. */
    static Class<?> command(String name) {
        return switch (name) {
            case "serve" -> ServeCommand.class;
            case "partitions" -> PartitionsCommand.class;
            case "create" -> CreateCommand.class;
            case "copy" -> CopyCommand.class;
            case "map" -> MapCommand.class;
            case "compare" -> CompareCommand.class;
            case "info" -> InfoCommand.class;
            case "sparsify" -> SparsifyCommand.class;
            case "check" -> CheckCommand.class;
            default -> null;
        };
    }

    private static String oneLine(Exception failure) {
        String message = failure.getMessage();
        if (message == null || message.isBlank()) {
            return failure.getClass().getSimpleName();
        }
        return message;
    }
}
