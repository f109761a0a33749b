package dev.sprout.it;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs an external command with a deadline, so a hanging client fails its test instead of the
 * build. Output goes through temporary files, never pipes: a daemon that inherits them cannot
 * keep a test waiting for end of file.
 */
final class Cmd {

    static final Duration TIMEOUT = Duration.ofSeconds(60);

    /**
     * Debian's tools first: python3-libnbd (nbdsh) lives in Debian's python, and losetup, mkfs
     * and friends in the sbin folders.
     */
    static final String PATH = "/usr/sbin:/usr/bin:/sbin:/bin:" + System.getenv().getOrDefault("PATH", "");

    private Cmd() {
    }

    /** What a finished command did. */
    record Result(List<String> command, int exitCode, String stdout, String stderr) {

        Result assertSuccess() {
            return assertExit(0);
        }

        Result assertExit(int expected) {
            if (exitCode != expected) {
                throw new AssertionError("expected exit " + expected + " but got " + exitCode + " from " + this);
            }
            return this;
        }

        @Override
        public String toString() {
            return String.join(" ", command) + "\n--- exit " + exitCode + "\n--- stdout:\n" + clip(stdout)
                    + "\n--- stderr:\n" + clip(stderr);
        }

        private static String clip(String text) {
            return text.length() <= 8000 ? text : text.substring(0, 4000) + "\n[...]\n" + text.substring(text.length() - 4000);
        }
    }

    static Result run(String... command) {
        return run(TIMEOUT, command);
    }

    static Result run(Duration timeout, String... command) {
        return run(timeout, Map.of(), List.of(command));
    }

    /**
     * Runs a Python {@code script} in {@code nbdsh} connected to {@code uri} with base:allocation
     * negotiated (the handle is {@code h}, the module {@code nbd}) and asserts that it succeeded.
     */
    static Result nbdsh(String uri, String script) {
        return run(TIMEOUT, "nbdsh", "--base-allocation", "-u", uri, "-c", script).assertSuccess();
    }

    /** Bytes the file system allocated to {@code file}: {@code stat -c %b} counts 512-byte blocks. */
    static long allocatedBytes(Path file) {
        return Long.parseLong(run("stat", "-c", "%b", file.toString()).assertSuccess().stdout().strip()) * 512;
    }

    /** Runs {@code script} with {@code /bin/sh -c}. */
    static Result sh(Duration timeout, String script) {
        return run(timeout, "/bin/sh", "-c", script);
    }

    /** Runs {@code command} with {@code env} added to the environment and stdin from /dev/null. */
    static Result run(Duration timeout, Map<String, String> env, List<String> command) {
        Path out = null;
        Path err = null;
        try {
            out = Files.createTempFile("cmd", ".out");
            err = Files.createTempFile("cmd", ".err");
            Process process = builder(command, env)
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .start();
            boolean finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!finished) {
                kill(process);
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s: "
                        + new Result(command, -1, Files.readString(out), Files.readString(err)));
            }
            return new Result(List.copyOf(command), process.exitValue(), Files.readString(out), Files.readString(err));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while running " + command, e);
        } finally {
            deleteQuietly(out);
            deleteQuietly(err);
        }
    }

    /** Starts {@code command} in the background with its output in {@code log}. */
    static Process spawn(Path log, List<String> command) {
        try {
            return builder(command, Map.of())
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
    }

    /** SIGTERM, then SIGKILL for whatever is left after five seconds, children included. */
    static void kill(Process process) throws InterruptedException {
        List<ProcessHandle> children = new ArrayList<>(process.descendants().toList());
        process.destroy();
        children.forEach(ProcessHandle::destroy);
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(5, TimeUnit.SECONDS);
        }
        children.forEach(ProcessHandle::destroyForcibly);
    }

    private static ProcessBuilder builder(List<String> command, Map<String, String> env) {
        ProcessBuilder builder = new ProcessBuilder(command).redirectInput(new File("/dev/null"));
        builder.environment().put("PATH", PATH);
        builder.environment().put("LC_ALL", "C");
        builder.environment().putAll(env);
        return builder;
    }

    private static void deleteQuietly(Path path) {
        if (path != null) {
            try {
                Files.deleteIfExists(path);
            } catch (IOException ignored) {
                // a leftover temporary file harms nobody
            }
        }
    }
}
