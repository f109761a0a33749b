package dev.sprout.cli;

import java.io.IOException;
import java.util.Map;

/**
 * Runs a user's shell command against a server that is already listening ({@code --run}), with
 * the connection details in its environment, and returns its exit status.
 */
final class CaptiveCommand {

    private CaptiveCommand() {
    }

    /** Runs {@code command} with {@code /bin/sh -c}; a command killed by signal N returns 128+N. */
    static int run(String command, Map<String, String> variables) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder("/bin/sh", "-c", command).inheritIO();
        builder.environment().putAll(variables);
        Process process = builder.start();
        try {
            return process.waitFor();
        } finally {
            process.destroy();
        }
    }
}
