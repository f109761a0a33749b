package dev.sprout.it;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The {@code file} backend serving a 2^63-1 byte sparse file, as filesystem testers make with
 * {@code truncate -s}: ext4 stops at 16 TiB, so the file lives on a small XFS image mounted
 * through a loop device. Writes at both ends land in the file, reads and block status agree,
 * and the file stays sparse.
 */
class HugeSparseFileOnXfsIT {

    private static final long LARGEST = Long.MAX_VALUE;

    @TempDir
    Path dir;

    @Test
    void servesA2To63Minus1ByteSparseFile() throws Exception {
        Path xfsImage = dir.resolve("xfs.img");
        try (RandomAccessFile file = new RandomAccessFile(xfsImage.toFile(), "rw")) {
            file.setLength(512L << 20);
        }
        Cmd.run(Duration.ofSeconds(60), "mkfs.xfs", "-q", xfsImage.toString()).assertSuccess();
        Path mnt = Files.createDirectory(dir.resolve("mnt"));
        Cmd.run("mount", "-o", "loop", xfsImage.toString(), mnt.toString()).assertSuccess();
        try {
            Path huge = mnt.resolve("huge.img");
            Cmd.run("truncate", "-s", Long.toString(LARGEST), huge.toString()).assertSuccess();
            try (SproutServer server = SproutServer.start(dir, "file", huge.toString())) {
                Cmd.nbdsh(server.uri(), """
                        import nbd
                        size = h.get_size()
                        assert size == %d, size
                        h.pwrite(b"first", 0)
                        h.pwrite(b"middle", 1 << 62)
                        h.pwrite(b"last!", size - 5, nbd.CMD_FLAG_FUA)
                        assert h.pread(5, 0) == b"first"
                        assert h.pread(6, 1 << 62) == b"middle"
                        assert h.pread(5, size - 5) == b"last!"
                        assert h.pread(1 << 20, 1 << 40) == bytes(1 << 20)
                        seen = []
                        h.block_status(1 << 30, 1 << 40, lambda ctx, off, ents, err: seen.extend(ents))
                        assert seen[1] & 1, ("a hole far from the writes", seen)
                        h.trim(4096, (1 << 62) & ~4095)
                        assert h.pread(6, 1 << 62) == bytes(6)
                        h.flush()
                        """.formatted(LARGEST));
            }
            assertThat(Files.size(huge)).isEqualTo(LARGEST);
            assertThat(Cmd.allocatedBytes(huge)).as("blocks allocated to the huge file").isLessThan(1L << 20);
            try (RandomAccessFile file = new RandomAccessFile(huge.toFile(), "r")) {
                byte[] end = new byte[5];
                file.seek(LARGEST - 5);
                file.readFully(end);
                assertThat(new String(end)).isEqualTo("last!");
            }
        } finally {
            Cmd.run("umount", mnt.toString());
        }
    }
}
