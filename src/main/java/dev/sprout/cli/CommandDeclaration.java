package dev.sprout.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.IGetter;
import picocli.CommandLine.Model.ISetter;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A command's line, declared through picocli's programmatic API: its name, help text, options and
 * parameters, each bound to a field of the command by a getter and a setter.
 *
 * <p>Not picocli's annotations: reading an annotation makes the JDK generate a proxy class for its
 * type, interpreted and not kept by the AOT cache. Seven of them cost every run of a tool ~50 ms
 * of a ~190 ms start (building {@code copy} took 50-65 ms from annotations, 10-12 ms declared here).
 */
final class CommandDeclaration {

    /** What {@code --version} prints, for every command. */
    static final String VERSION = "sprout 0.1.0";

    private final CommandSpec spec;

    private CommandDeclaration(CommandSpec spec) {
        this.spec = spec;
    }

    /**
     * A command called {@code name} that picocli runs by calling {@code command}, or that only
     * groups subcommands when {@code command} is null; with {@code -h/--help} and {@code -V/--version}.
     * Each description string is a paragraph of the help.
     */
    static CommandDeclaration command(String name, Callable<Integer> command, String... description) {
        CommandSpec spec = CommandSpec.wrapWithoutInspection(command).name(name).version(VERSION);
        spec.usageMessage().description(description);
        spec.addOption(OptionSpec.builder("-h", "--help").usageHelp(true)
                .description("Show this help message and exit.").build());
        spec.addOption(OptionSpec.builder("-V", "--version").versionHelp(true)
                .description("Print version information and exit.").build());
        return new CommandDeclaration(spec);
    }

    /** Lines printed after the options in the help. */
    CommandDeclaration footer(String... lines) {
        spec.usageMessage().footer(lines);
        return this;
    }

    /**
     * An option taking one value of {@code type}; {@code names} are separated by spaces ("-p --port").
     * A description may say "${DEFAULT-VALUE}": the field's value when the command was declared.
     */
    <T> CommandDeclaration option(String names, String label, Class<T> type, Supplier<T> get, Consumer<T> set,
                                  String description) {
        spec.addOption(bind(OptionSpec.builder(names.split(" ")).paramLabel(label).type(type), get, set)
                .description(description).build());
        return this;
    }

    /** An option without a value: giving it sets the field to true. */
    CommandDeclaration flag(String names, Supplier<Boolean> get, Consumer<Boolean> set, String description) {
        spec.addOption(bind(OptionSpec.builder(names.split(" ")).type(boolean.class), get, set)
                .description(description).build());
        return this;
    }

    /** An option that may be given many times, each value added to the field's list in order. */
    CommandDeclaration repeatable(String names, String label, Supplier<List<String>> get, Consumer<List<String>> set,
                                  String description) {
        spec.addOption(bind(OptionSpec.builder(names.split(" ")).paramLabel(label).type(List.class)
                .auxiliaryTypes(String.class), get, set).description(description).build());
        return this;
    }

    /** A required parameter at {@code index} (0 the first), with no description when it is null. */
    <T> CommandDeclaration parameter(int index, String label, Class<T> type, Supplier<T> get, Consumer<T> set,
                                     String description) {
        return positional(index, true, label, type, get, set, description);
    }

    /** A parameter at {@code index} that may be left out. */
    <T> CommandDeclaration optionalParameter(int index, String label, Class<T> type, Supplier<T> get, Consumer<T> set,
                                             String description) {
        return positional(index, false, label, type, get, set, description);
    }

    /** Every parameter from {@code index} on, none or many, into the field's list. */
    CommandDeclaration remainingParameters(int index, String label, Supplier<List<String>> get,
                                           Consumer<List<String>> set, String description) {
        spec.addPositional(bind(PositionalParamSpec.builder().index(index + "..*").arity("0..*").paramLabel(label)
                .type(List.class).auxiliaryTypes(String.class), get, set).description(description).build());
        return this;
    }

    /** The declared command, for picocli's {@code CommandLine}. */
    CommandSpec spec() {
        return spec;
    }

    /** One parameter; picocli takes a parameter declared this way as optional unless told. */
    private <T> CommandDeclaration positional(int index, boolean required, String label, Class<T> type, Supplier<T> get,
                                              Consumer<T> set, String description) {
        PositionalParamSpec.Builder builder = bind(PositionalParamSpec.builder().index(Integer.toString(index))
                .arity(required ? "1" : "0..1").required(required).paramLabel(label).type(type), get, set);
        if (description != null) {
            builder.description(description);
        }
        spec.addPositional(builder.build());
        return this;
    }

    /**
     * Binds the option to the field. Its value now is its initial value: picocli shows it for
     * ${DEFAULT-VALUE} and puts it back before each parse (else it would put back null).
     */
    private static <T> OptionSpec.Builder bind(OptionSpec.Builder builder, Supplier<T> get, Consumer<T> set) {
        FieldBinding<T> binding = new FieldBinding<>(get, set);
        return builder.getter(binding).setter(binding).initialValue(get.get());
    }

    /** Binds the parameter to the field, as {@link #bind(OptionSpec.Builder, Supplier, Consumer)} an option. */
    private static <T> PositionalParamSpec.Builder bind(PositionalParamSpec.Builder builder, Supplier<T> get, Consumer<T> set) {
        FieldBinding<T> binding = new FieldBinding<>(get, set);
        return builder.getter(binding).setter(binding).initialValue(get.get());
    }

    /** A field as picocli reads and writes it. */
    private record FieldBinding<T>(Supplier<T> reader, Consumer<T> writer) implements IGetter, ISetter {

        @Override
        @SuppressWarnings("unchecked")
        public <V> V get() {
            return (V) reader.get();
        }

        @Override
        @SuppressWarnings("unchecked")
        public <V> V set(V value) {
            V previous = get();
            writer.accept((T) value);
            return previous;
        }
    }
}
