package dev.sprout.it;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@code ./sprout} launcher's start-up caches work: given a fresh jar (the one under test, in a
 * copy of the launcher's tree, so nothing is rebuilt), it trains both AOT caches, and the JVM then
 * maps them rather than rejecting them. Runs use {@code -XX:AOTMode=on}, which makes the JVM fail
 * when the cache cannot be used, and log where each class came from: sprout's own classes and
 * picocli's must come from the cache ("shared objects file"), which they cannot if the build ever
 * ships picocli's Java 5 class files again or the training stops covering a command.
 */
class LauncherIT {

    private static final Duration TRAINING = Duration.ofMinutes(5);
    private static final String FROM_CACHE = "source: shared objects file";

    @TempDir
    static Path tree;
    private static Path launcher;

    @BeforeAll
    static void copyTheLauncherWithTheJarUnderTest() throws IOException {
        Path root = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
        Files.createDirectories(tree.resolve("scripts/jvm"));
        Files.createDirectories(tree.resolve("src/main"));
        Files.createDirectories(tree.resolve("target"));
        launcher = Files.copy(root.resolve("sprout"), tree.resolve("sprout"), StandardCopyOption.COPY_ATTRIBUTES);
        for (String script : List.of("find-jdk", "train-aot", "jvm/read-options", "jvm/serve.options",
                "jvm/tools.options")) {
            Files.copy(root.resolve("scripts").resolve(script), tree.resolve("scripts").resolve(script),
                    StandardCopyOption.COPY_ATTRIBUTES);
        }
        Files.copy(root.resolve("pom.xml"), tree.resolve("pom.xml"));
        // Copied last, so it is newer than the pom and the launcher does not rebuild it.
        Files.copy(Path.of(System.getProperty("sprout.jar")), tree.resolve("target/sprout.jar"));
    }

    @Test
    void theToolsRunFromTheirTrainedCache() throws IOException {
        Path in = tree.resolve("in.img");
        try (RandomAccessFile file = new RandomAccessFile(in.toFile(), "rw")) {
            file.setLength(16 << 20);
            file.seek(4 << 20);
            file.write("sprout".repeat(1000).getBytes());
        }
        Path out = tree.resolve("out.img");

        Cmd.Result copy = launch("copy", in.toString(), out.toString()).assertSuccess();

        assertThat(Files.mismatch(in, out)).isEqualTo(-1);
        assertThat(tree.resolve("target/sprout-tools.aot")).isRegularFile();
        assertThat(tree.resolve("target/sprout-tools.aot.failed")).doesNotExist();
        assertFromCache(copy, "picocli.CommandLine", "dev.sprout.cli.CopyCommand", "dev.sprout.tool.Copy",
                "dev.sprout.backend.FileBlockDevice");

        Cmd.Result map = launch("map", in.toString()).assertSuccess();
        assertFromCache(map, "picocli.CommandLine", "dev.sprout.cli.MapCommand");
    }

    @Test
    void theServerRunsFromItsTrainedCache() {
        Cmd.Result serve = launch("serve", "-q", "-U", "-", "memory", "1M", "--run", "true").assertSuccess();

        assertThat(tree.resolve("target/sprout.aot")).isRegularFile();
        assertFromCache(serve, "picocli.CommandLine", "dev.sprout.cli.ServeCommand", "dev.sprout.server.NbdServer");
    }

    /** The serving cache is trained on requests too, so a fresh server's first requests need no class loading. */
    @Test
    void theServersRequestPathsComeFromItsCache() throws IOException {
        Path disk = tree.resolve("served.img");
        try (RandomAccessFile file = new RandomAccessFile(disk.toFile(), "rw")) {
            file.setLength(8 << 20);
            file.write("sprout".getBytes());
        }
        Cmd.Result serve = launch("serve", "-q", "-U", "-", "file", disk.toString(), "--run",
                "nbdinfo --map \"$uri\" && nbdcopy \"$uri\" null:").assertSuccess();

        assertFromCache(serve, "dev.sprout.server.RequestHandler", "dev.sprout.server.ExtentWalk",
                "dev.sprout.backend.FileBlockDevice", "dev.sprout.nbd.TransmissionReplies");
    }

    /** The launcher finds its tree through a symlink to it (say, one in ~/bin). */
    @Test
    void aSymlinkToTheLauncherRunsIt(@TempDir Path elsewhere) throws IOException {
        Path link = Files.createSymbolicLink(elsewhere.resolve("sprout"), launcher);

        Cmd.Result version = Cmd.run(TRAINING, Map.of(), List.of(link.toString(), "--version")).assertSuccess();

        assertThat(version.stdout()).startsWith("sprout ");
    }

    /**
     * scripts/find-jdk, run as a script (run-tests, bench/run) rather than sourced (the launcher):
     * a $JAVA_HOME of JDK 25 or later is taken as it is; one that is no JDK is passed over for one
     * that is, found elsewhere.
     */
    @Test
    void findJdkTakesAQualifyingJavaHomeAndPassesOverOneThatIsNoJdk() throws IOException {
        Path findJdk = tree.resolve("scripts/find-jdk");
        String running = System.getProperty("java.home");

        Cmd.Result taken = Cmd.run(TRAINING, Map.of("JAVA_HOME", running), List.of(findJdk.toString())).assertSuccess();
        assertThat(taken.stdout().strip()).isEqualTo(running);

        Cmd.Result found = Cmd.run(TRAINING, Map.of("JAVA_HOME", tree.toString()), List.of(findJdk.toString()))
                .assertSuccess();
        Path home = Path.of(found.stdout().strip());
        assertThat(home.resolve("bin/javac")).isExecutable();
        assertThat(Files.readString(home.resolve("release"))).containsPattern("JAVA_VERSION=\"(2[5-9]|[3-9][0-9])");
    }

    private static Cmd.Result launch(String... args) {
        List<String> command = new ArrayList<>();
        command.add(launcher.toString());
        command.addAll(List.of(args));
        return Cmd.run(TRAINING, Map.of("SPROUT_JAVA_OPTS", "-XX:AOTMode=on -Xlog:class+load=info:stderr"), command);
    }

    private static void assertFromCache(Cmd.Result run, String... classes) {
        for (String name : classes) {
            assertThat(run.stderr()).as("%s loaded from the AOT cache in %s", name, run)
                    .contains("] " + name + " " + FROM_CACHE);
        }
    }
}
