package dev.sprout.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The training run behind the image tools' AOT cache (JDK 25, JEP 514; see {@code ./sprout}): runs
 * several command lines, separated by {@code +}, one after another in one JVM, so that the cache
 * holds what copy, info, map and compare load and link, and the profiles they gather, not only
 * what a single command does. Exits non-zero if any of them failed.
 *
 * <pre>java -XX:AOTCacheOutput=tools.aot -cp sprout.jar dev.sprout.cli.AotTraining copy a b + map a</pre>
 */
public final class AotTraining {

    private AotTraining() {
    }

    public static void main(String[] args) {
        int failed = 0;
        for (List<String> commandLine : split(args)) {
            int status = Main.execute(commandLine.toArray(String[]::new));
            if (status != 0) {
                System.err.println("sprout: AOT training: exit " + status + " from " + String.join(" ", commandLine));
                failed = 1;
            }
        }
        System.exit(failed);
    }

    /** The command lines between the {@code +} separators; empty ones are dropped. */
    static List<List<String>> split(String... args) {
        List<List<String>> lines = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= args.length; i++) {
            if (i == args.length || args[i].equals("+")) {
                if (i > start) {
                    lines.add(List.copyOf(Arrays.asList(args).subList(start, i)));
                }
                start = i + 1;
            }
        }
        return lines;
    }
}
