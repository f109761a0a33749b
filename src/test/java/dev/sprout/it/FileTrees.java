package dev.sprout.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Seeded test data for the file system tests, the comparison of two trees, and file checksums. */
final class FileTrees {

    private FileTrees() {
    }

    /** The SHA-256 of a file's bytes, in hex: to show that an image was not changed. */
    static String sha256(Path file) throws IOException {
        try (var in = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 20];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    static byte[] randomBytes(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    /** {@code count} files of 0 to 20000 random bytes in nested folders under {@code root}. */
    static void smallFiles(Path root, int count, long seed) throws IOException {
        Random random = new Random(seed);
        for (int i = 0; i < count; i++) {
            Path folder = Files.createDirectories(root.resolve("d" + i % 7).resolve("e" + i % 3));
            byte[] bytes = new byte[random.nextInt(20_000)];
            random.nextBytes(bytes);
            Files.write(folder.resolve("f" + i), bytes);
        }
    }

    /** Asserts that {@code actual} holds the same files with the same content ({@code diff -r}). */
    static void assertSame(Path expected, Path actual, long seed) {
        Cmd.Result diff = Cmd.run("diff", "-r", "--exclude=lost+found", "--exclude=scratch",
                expected.toString(), actual.toString());
        assertThat(diff.exitCode()).as("diff -r (seed %d): %s", seed, diff).isZero();
    }
}
