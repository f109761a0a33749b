package dev.sprout.os;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PipeBufferTest {

    /** fcntl(2)'s F_GETPIPE_SZ. */
    private static final int F_GETPIPE_SZ = 1032;

    @TempDir
    Path dir;

    @Test
    void aPipeGetsTheWiderBufferAndAFileIsLeftAlone() throws Exception {
        assumeTrue(LibC.available(), "native calls unavailable here");
        Path fifo = dir.resolve("fifo");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        Path file = Files.writeString(dir.resolve("file"), "x");
        int pipe = LibC.open(fifo, true, "open fifo"); // read-write: opening does not wait for a peer
        int plain = LibC.open(file, true, "open file");
        try (Arena arena = Arena.ofConfined()) {
            assertThat(pipeSize(arena, pipe)).as("the kernel's default").isLessThan(PipeBuffer.WIDE);
            assertThat(PipeBuffer.widen(pipe, PipeBuffer.WIDE)).isGreaterThanOrEqualTo(PipeBuffer.WIDE);
            assertThat(pipeSize(arena, pipe)).isGreaterThanOrEqualTo(PipeBuffer.WIDE);
            assertThat(PipeBuffer.widen(plain, PipeBuffer.WIDE)).isEqualTo(-1);
        } finally {
            try (Arena arena = Arena.ofConfined()) {
                LibC.call(LibC.callState(arena), Syscall.CLOSE, pipe);
                LibC.call(LibC.callState(arena), Syscall.CLOSE, plain);
            }
        }
    }

    private static long pipeSize(Arena arena, int fd) {
        return LibC.call(LibC.callState(arena), Syscall.FCNTL, fd, F_GETPIPE_SZ, 0);
    }
}
