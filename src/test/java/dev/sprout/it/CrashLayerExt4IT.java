package dev.sprout.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ext4 with its journal on a {@code crash} layer over a file, through nbdfuse and a loop device:
 * files synced before a power cut survive it intact, the cut leaves a journal to replay, and
 * once replayed the file system is clean.
 */
class CrashLayerExt4IT {

    private static final Duration SLOW = Duration.ofSeconds(120);

    @TempDir
    Path dir;

    @Test
    void syncedFilesSurviveAPowerCutAndTheJournalReplaysClean() throws Exception {
        Path image = dir.resolve("backing.img");
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.setLength(512L << 20);
        }
        Path trigger = dir.resolve("power-cut");
        Path mnt = Files.createDirectory(dir.resolve("mnt"));
        long seed = System.nanoTime();
        Path synced = Files.createDirectory(dir.resolve("synced"));
        Files.write(synced.resolve("big"), FileTrees.randomBytes(12 << 20, seed));
        FileTrees.smallFiles(synced.resolve("small"), 200, seed);
        Path unsynced = Files.createDirectory(dir.resolve("unsynced"));
        Files.write(unsynced.resolve("big"), FileTrees.randomBytes(16 << 20, seed + 1));
        FileTrees.smallFiles(unsynced.resolve("small"), 100, seed + 1);

        String firstLog;
        try (NbdfuseDisk disk = NbdfuseDisk.start(Files.createDirectory(dir.resolve("before")),
                "--layer", "crash:trigger=" + trigger, "file", image.toString())) {
            String loop = disk.attachLoop();
            Cmd.run(SLOW, "mkfs.ext4", "-q", loop).assertSuccess();
            Cmd.run("mount", loop, mnt.toString()).assertSuccess();
            try {
                Cmd.run(SLOW, "cp", "-a", synced.toString(), mnt.resolve("synced").toString()).assertSuccess();
                Cmd.run(SLOW, "sync", "-f", mnt.toString()).assertSuccess();
                // Acknowledged into the volatile cache at best: the cut must take it away.
                Cmd.run(SLOW, "cp", "-a", unsynced.toString(), mnt.resolve("unsynced").toString()).assertSuccess();
                Files.createFile(trigger);
                Cmd.Result sync = Cmd.run(SLOW, "sync", "-f", mnt.toString());
                assertThat(sync.exitCode()).as("sync after the power cut: %s", sync).isNotZero();
            } finally {
                unmountEvenIfBroken(mnt);
                Files.deleteIfExists(trigger);
            }
            firstLog = disk.log();
        }
        assertThat(firstLog).contains("power cut").contains("EIO");

        // The durable state was mounted when the power went: its journal needs replaying.
        Cmd.Result header = Cmd.run("dumpe2fs", "-h", image.toString()).assertSuccess();
        assertThat(header.stdout()).as("superblock after the cut").contains("needs_recovery");

        try (NbdfuseDisk disk = NbdfuseDisk.start(Files.createDirectory(dir.resolve("after")),
                "--layer", "crash", "file", image.toString())) {
            String loop = disk.attachLoop();
            Cmd.Result check = Cmd.run(SLOW, "e2fsck", "-n", loop);
            assertThat(check.stdout() + check.stderr()).as("e2fsck -n before the replay: %s", check)
                    .contains("skipping journal recovery");
            disk.mount(mnt);
            FileTrees.assertSame(synced, mnt.resolve("synced"), seed);
            disk.unmount();
            Cmd.run(SLOW, "e2fsck", "-f", "-n", loop).assertSuccess();
        }
        // The second crash layer was flushed by the unmount: the image alone is clean too.
        Cmd.run(SLOW, "e2fsck", "-f", "-n", image.toString()).assertSuccess();
    }

    /** A file system whose disk failed may refuse a plain unmount; detach it lazily then. */
    private static void unmountEvenIfBroken(Path mountPoint) {
        if (Cmd.run(SLOW, "umount", mountPoint.toString()).exitCode() != 0) {
            Cmd.run(SLOW, "umount", "-l", mountPoint.toString()).assertSuccess();
        }
    }
}
