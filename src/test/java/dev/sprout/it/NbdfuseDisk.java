package dev.sprout.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A kernel block device on sprout without nbd.ko: {@code nbdfuse FILE --command java -jar
 * sprout.jar serve -s BACKEND...} shows the export as a file, a loop device (direct I/O, so reads
 * reach the server rather than the page cache) turns it into a disk, and a file system may be
 * mounted on that. {@link #close()} undoes whatever was done, in order (unmount, detach,
 * fusermount), even after failures, then asserts that nbdfuse and sprout exited cleanly.
 */
final class NbdfuseDisk implements AutoCloseable {

    private static final Duration STARTUP = Duration.ofSeconds(30);

    private final Path file;
    private final Path log;
    private final Process nbdfuse;
    private final List<ProcessHandle> servers = new ArrayList<>();
    private String loop;
    private Path mounted;

    private NbdfuseDisk(Path file, Path log, Process nbdfuse) {
        this.file = file;
        this.log = log;
        this.nbdfuse = nbdfuse;
    }

    /** Starts nbdfuse on {@code <dir>/disk.img} and waits until the file has the export's size. */
    static NbdfuseDisk start(Path dir, String... serveArgs) throws IOException, InterruptedException {
        Path file = Files.createFile(dir.resolve("disk.img"));
        Path log = dir.resolve("nbdfuse.log");
        List<String> command = new ArrayList<>(List.of("nbdfuse", file.toString(), "--command"));
        List<String> sprout = new ArrayList<>(List.of("serve", "-s"));
        sprout.addAll(List.of(serveArgs));
        command.addAll(SproutServer.command(sprout.toArray(String[]::new)));
        NbdfuseDisk disk = new NbdfuseDisk(file, log, Cmd.spawn(log, command));
        try {
            disk.awaitSize();
        } catch (RuntimeException | Error | InterruptedException e) {
            try {
                disk.close();
            } catch (RuntimeException | Error cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        return disk;
    }

    Path file() {
        return file;
    }

    long size() throws IOException {
        return Files.size(file);
    }

    /** Attaches the file to a free loop device with direct I/O and returns its path. */
    String attachLoop() {
        assertThat(loop).as("already attached").isNull();
        loop = Cmd.run("losetup", "-f", "--show", "--direct-io=on", file.toString()).assertSuccess().stdout().strip();
        assertThat(loop).startsWith("/dev/loop");
        return loop;
    }

    void mount(Path mountPoint) {
        assertThat(mounted).as("already mounted").isNull();
        Cmd.run("mount", loop, mountPoint.toString()).assertSuccess();
        mounted = mountPoint;
    }

    void unmount() {
        Path mountPoint = mounted;
        mounted = null;
        Cmd.run("umount", mountPoint.toString()).assertSuccess();
    }

    String log() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        List<Throwable> failures = new ArrayList<>();
        if (mounted != null) {
            step(failures, () -> {
                Cmd.Result umount = Cmd.run("umount", mounted.toString());
                if (umount.exitCode() != 0) {
                    Cmd.run("umount", "-l", mounted.toString());
                    umount.assertSuccess();
                }
                mounted = null;
            });
        }
        if (loop != null) {
            step(failures, () -> {
                Cmd.run("losetup", "-d", loop).assertSuccess();
                loop = null;
            });
        }
        step(failures, () -> Cmd.run("fusermount3", "-u", file.toString()).assertSuccess());
        step(failures, this::awaitExit);
        if (!failures.isEmpty()) {
            AssertionError error = new AssertionError("tearing down nbdfuse on " + file + "; its log:\n" + log(),
                    failures.getFirst());
            failures.stream().skip(1).forEach(error::addSuppressed);
            throw error;
        }
    }

    private void awaitExit() throws InterruptedException {
        if (!nbdfuse.waitFor(15, TimeUnit.SECONDS)) {
            Cmd.kill(nbdfuse);
            servers.forEach(ProcessHandle::destroyForcibly);
            throw new AssertionError("nbdfuse did not exit after fusermount3 -u");
        }
        assertThat(nbdfuse.exitValue()).as("nbdfuse's exit status").isZero();
        for (ProcessHandle server : servers) {
            try {
                server.onExit().get(15, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                server.destroyForcibly();
                throw new AssertionError("sprout (pid " + server.pid() + ") outlived nbdfuse", e);
            }
        }
        assertThat(log()).as("nbdfuse's and sprout's log").doesNotContain("SEVERE").doesNotContain("\tat ");
    }

    private void awaitSize() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + STARTUP.toNanos();
        while (Files.size(file) == 0) {
            if (!nbdfuse.isAlive()) {
                throw new AssertionError("nbdfuse exited with " + nbdfuse.exitValue() + "; log:\n" + log());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("nbdfuse showed no disk within " + STARTUP.toSeconds() + " s; log:\n" + log());
            }
            Thread.sleep(50);
        }
        servers.addAll(nbdfuse.descendants().toList());
        assertThat(servers).as("sprout started by nbdfuse --command").isNotEmpty();
    }

    /** A teardown step: failures are collected, so the later steps still run. */
    private interface Step {
        void run() throws Exception;
    }

    private static void step(List<Throwable> failures, Step step) {
        try {
            step.run();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failures.add(e);
        } catch (Exception | AssertionError e) {
            failures.add(e);
        }
    }
}
