package dev.sprout.cli;

import dev.sprout.os.NativeFile;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

import java.util.List;
import java.util.function.Supplier;

/** The {@code sprout} command: dispatches to its subcommands. */
public final class Main {

    /** A subcommand's name, and how to make a command that declares its line. */
    record Subcommand(String name, Supplier<CommandSpec> declaration) {
    }

    /** The subcommands, in the order help lists them. */
    static final List<Subcommand> COMMANDS = List.of(
            new Subcommand("serve", () -> new ServeCommand().declare()),
            new Subcommand("partitions", () -> new PartitionsCommand().declare()),
            new Subcommand("create", () -> new CreateCommand().declare()),
            new Subcommand("copy", () -> new CopyCommand().declare()),
            new Subcommand("map", () -> new MapCommand().declare()),
            new Subcommand("compare", () -> new CompareCommand().declare()),
            new Subcommand("info", () -> new InfoCommand().declare()),
            new Subcommand("sparsify", () -> new SparsifyCommand().declare()),
            new Subcommand("check", () -> new CheckCommand().declare()));

    private Main() {
    }

    public static void main(String[] args) {
        // Binding the one downcall handle every native call goes through costs a cold JVM 30-40 ms;
        // for the image tools, which all open files, it is bound on the other core while picocli
        // parses the command line here. Not for serve: a RAM or null disk makes no native calls, and
        // on two cores the binding delayed its first answer by ~80 ms (a file backend binds when it opens).
        if (args.length == 0 || !args[0].equals("serve")) {
            Thread.ofPlatform().daemon(true).name("bind-libc").start(NativeFile::prepare);
        }
        System.exit(execute(args));
    }

    /** Runs the command line and returns the exit status (for tests and main). */
    static int execute(String... args) {
        CommandLine commandLine = new CommandLine(CommandDeclaration.command("sprout", null,
                "Serve virtual disks over NBD and work with disk images.").spec());
        // A run names its subcommand first, so only that one is declared (help and mistakes still see them all).
        Subcommand named = args.length == 0 ? null : command(args[0]);
        for (Subcommand command : named != null ? List.of(named) : COMMANDS) {
            commandLine.addSubcommand(command.name(), command.declaration().get());
        }
        commandLine.setExecutionExceptionHandler((failure, cmd, parsed) -> {
            cmd.getErr().println("sprout: " + oneLine(failure));
            return failure instanceof IllegalArgumentException ? 2 : 1;
        });
        return commandLine.execute(args);
    }

    /** The subcommand called {@code name}, or null. */
    static Subcommand command(String name) {
        for (Subcommand command : COMMANDS) {
            if (command.name().equals(name)) {
                return command;
            }
        }
        return null;
    }

    private static String oneLine(Exception failure) {
        String message = failure.getMessage();
        if (message == null || message.isBlank()) {
            return failure.getClass().getSimpleName();
        }
        return message;
    }
}
