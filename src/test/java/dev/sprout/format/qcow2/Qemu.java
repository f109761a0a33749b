package dev.sprout.format.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs qemu-img and qemu-io, the test oracles; never used by the product. */
final class Qemu {

    /** What a command printed and how it ended. */
    record Result(int exitCode, String stdout, String stderr) {

        Result assertSuccess() {
            assertThat(exitCode).as("exit status; stdout:\n%s\nstderr:\n%s", stdout, stderr).isZero();
            return this;
        }
    }

    private Qemu() {
    }

    static Result run(String... command) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(List.of(command));
        builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process process = builder.start();
        try {
            var out = process.getInputStream();
            var err = process.getErrorStream();
            java.util.concurrent.CompletableFuture<byte[]> errBytes = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return err.readAllBytes();
                } catch (IOException e) {
                    return new byte[0];
                }
            });
            String stdout = new String(out.readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IOException("timed out: " + String.join(" ", command));
            }
            return new Result(process.exitValue(), stdout, new String(errBytes.join(), StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    /** Runs {@code qemu-img check --output=json} and asserts no corruptions and no leaks. */
    static void assertClean(java.nio.file.Path image) throws IOException {
        Result check = run("qemu-img", "check", "--output=json", image.toString());
        assertThat(check.exitCode()).as("qemu-img check %s:\n%s%s", image, check.stdout(), check.stderr()).isZero();
        assertThat(check.stdout()).as("qemu-img check %s", image)
                .contains("\"check-errors\": 0").doesNotContainPattern("\"(corruptions|leaks)[a-z-]*\": [1-9]");
    }
}
