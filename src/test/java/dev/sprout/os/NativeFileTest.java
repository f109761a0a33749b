package dev.sprout.os;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The libc bindings against real files: hole boundaries, errno reporting, the fallback, closing. */
class NativeFileTest {

    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void nativeAccessIsAvailableUnderTheTestArgLine() {
        assertThat(NativeFile.available()).isTrue();
    }

    @Test
    void seekDataAndSeekHoleFindTheBoundariesOfAPunchedHole() throws IOException {
        Path file = dataFile(3 * MIB);
        try (NativeFile nf = NativeFile.open(file, true)) {
            nf.punchHole(MIB, MIB);
            assertThat(nf.seekData(0)).isZero();
            assertThat(nf.seekHole(0)).isEqualTo(MIB);
            assertThat(nf.seekData(MIB)).isEqualTo(2 * MIB);
            assertThat(nf.seekData(MIB + 12345)).isEqualTo(2 * MIB);
            assertThat(nf.seekHole(2 * MIB)).as("the end of the file counts as a hole").isEqualTo(3 * MIB);
            assertThat(nf.seekData(3 * MIB)).as("ENXIO at the end").isEqualTo(-1);
            assertThat(nf.seekHole(3 * MIB)).isEqualTo(-1);
        }
        assertThat(Files.size(file)).isEqualTo(3 * MIB);
        byte[] content = Files.readAllBytes(file);
        assertThat(Arrays.mismatch(Arrays.copyOfRange(content, MIB, 2 * MIB), new byte[MIB])).isEqualTo(-1);
        assertThat(content[MIB - 1]).isNotZero();
        assertThat(content[2 * MIB]).isNotZero();
    }

    @Test
    void seekDataReportsNoDataInAFileThatIsOneHole() throws IOException {
        Path file = dir.resolve("sparse");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(10L * MIB);
        }
        try (NativeFile nf = NativeFile.open(file, false)) {
            assertThat(nf.seekData(0)).isEqualTo(-1);
            assertThat(nf.seekHole(0)).isZero();
        }
    }

    @Test
    void zeroRangeKeepsTheSizeAndReadsZeroes() throws IOException {
        Path file = dataFile(2 * MIB);
        try (NativeFile nf = NativeFile.open(file, true)) {
            nf.zeroRange(100, MIB);
            nf.allocate(0, 2 * MIB);
        }
        byte[] content = Files.readAllBytes(file);
        assertThat(content).hasSize(2 * MIB);
        assertThat(Arrays.mismatch(Arrays.copyOfRange(content, 100, MIB + 100), new byte[MIB])).isEqualTo(-1);
        assertThat(content[99]).isNotZero();
        assertThat(content[MIB + 100]).isNotZero();
    }

    @Test
    void adviceIsAccepted() throws IOException {
        Path file = dataFile(MIB);
        try (NativeFile nf = NativeFile.open(file, false)) {
            nf.willNeed(0, MIB);
            nf.willNeed(0, 0); // posix_fadvise(2): len 0 means to the end of the file
        }
    }

    @Test
    void adviceWithANegativeLengthFailsWithEinval() throws IOException {
        Path file = dataFile(MIB);
        try (NativeFile nf = NativeFile.open(file, false)) {
            // posix_fadvise(3) returns the error where the system call sets errno; either way EINVAL.
            assertThatThrownBy(() -> nf.willNeed(0, -1))
                    .isInstanceOf(NativeException.class)
                    .hasMessage("posix_fadvise(WILLNEED, 0+-1) on " + file + ": Invalid argument (EINVAL)");
        }
    }

    @Test
    void readIfCachedFillsADirectBufferFromTheOffsetOnlyWhenCached() throws IOException {
        Path file = dir.resolve("blocks.img");
        byte[] data = new byte[MIB];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i / 4096);
        }
        Files.write(file, data); // written through the page cache, so cached
        try (NativeFile nf = NativeFile.open(file, false)) {
            ByteBuffer direct = ByteBuffer.allocateDirect(4096);
            assertThat(nf.readIfCached(3 * 4096, direct)).isTrue();
            assertThat(direct.position()).isEqualTo(4096);
            direct.flip();
            while (direct.hasRemaining()) {
                assertThat(direct.get()).isEqualTo((byte) 3);
            }
            ByteBuffer heap = ByteBuffer.allocate(4096);
            assertThat(nf.readIfCached(0, heap)).as("heap buffers are never read").isFalse();
            assertThat(heap.position()).isZero();
        }
    }

    @Test
    void writeBackAndDropLeavesTheRangeUncachedAndWillNeedReadsItBack() throws Exception {
        Path file = dataFile(MIB);
        assumeTrue(!Files.getFileStore(file).type().equals("tmpfs"), "tmpfs keeps its pages");
        try (NativeFile nf = NativeFile.open(file, true)) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(MIB);
            assertThat(nf.readIfCached(0, buffer.clear())).as("just written").isTrue();
            nf.startWriteback(0, MIB);
            nf.writeBackAndDrop(0, MIB);
            assertThat(nf.readIfCached(0, buffer.clear())).as("dropped").isFalse();
            assertThat(buffer.position()).isZero();
            nf.willNeed(0, MIB);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!nf.readIfCached(0, buffer.clear())) {
                assertThat(System.nanoTime()).as("read ahead within 10 s").isLessThan(deadline);
                Thread.sleep(10);
            }
            buffer.flip();
            while (buffer.hasRemaining()) {
                assertThat(buffer.get()).isEqualTo((byte) 7);
            }
        }
    }

    @Test
    void writebackOfANegativeOffsetFailsWithEinval() throws IOException {
        Path file = dataFile(MIB);
        try (NativeFile nf = NativeFile.open(file, true)) {
            assertThatThrownBy(() -> nf.startWriteback(-4096, 4096))
                    .isInstanceOf(NativeException.class)
                    .hasMessage("sync_file_range(-4096+4096, 2) on " + file + ": Invalid argument (EINVAL)");
        }
    }

    @Test
    void blockDeviceIoctlsOnARegularFileAreNotSupported() throws IOException {
        Path file = dataFile(MIB);
        try (NativeFile nf = NativeFile.open(file, false)) {
            DeviceIoctls ioctls = new DeviceIoctls(nf);
            NativeException e = catchThrowableOfType(NativeException.class, ioctls::size);
            assertThat(e).hasMessage("ioctl(BLKGETSIZE64) on " + file + ": Inappropriate ioctl for device (ENOTTY)");
            assertThat(e.notSupported()).isTrue();
            assertThat(catchThrowableOfType(NativeException.class, ioctls::logicalBlockSize).errnoName()).isEqualTo("ENOTTY");
        }
    }

    @Test
    void openingADirectoryForWritingFailsWithEisdir() {
        NativeException e = catchThrowableOfType(NativeException.class, () -> NativeFile.open(dir, true));
        assertThat(e).hasMessage("open(O_RDWR) on " + dir + ": Is a directory (EISDIR)");
        assertThat(e.notSupported()).isFalse();
    }

    @Test
    void openingAMissingFileNamesItAndTheErrno() {
        Path missing = dir.resolve("missing.img");
        NativeException e = catchThrowableOfType(NativeException.class, () -> NativeFile.open(missing, false));
        assertThat(e.errno()).isEqualTo(2);
        assertThat(e.errnoName()).isEqualTo("ENOENT");
        assertThat(e).hasMessage("open(O_RDONLY) on " + missing + ": No such file or directory (ENOENT)");
        assertThat(e.notSupported()).isFalse();
        assertThat(e.noSpace()).isFalse();
    }

    @Test
    void fallocateOnAReadOnlyDescriptorFailsWithEbadf() throws IOException {
        Path file = dataFile(MIB);
        try (NativeFile nf = NativeFile.open(file, false)) {
            assertThatThrownBy(() -> nf.punchHole(0, 4096))
                    .isInstanceOf(NativeException.class)
                    .hasMessage("fallocate(PUNCH_HOLE|KEEP_SIZE, 0+4096) on " + file + ": Bad file descriptor (EBADF)");
        }
    }

    @Test
    void allocatingPastTheLargestFileSizeIsRecognisedAsNoSpace() throws IOException {
        Path file = dataFile(4096);
        try (NativeFile nf = NativeFile.open(file, true)) {
            // fallocate(2): EFBIG when offset+len exceeds the largest file size, 2^63-1 at most.
            NativeException e = catchThrowableOfType(NativeException.class, () -> nf.allocate(Long.MAX_VALUE - 4096, 8192));
            assertThat(e.errnoName()).isEqualTo("EFBIG");
            assertThat(e).hasMessageContaining("File too large");
            assertThat(e.noSpace()).isTrue();
            assertThat(e.notSupported()).isFalse();
        }
    }

    @Test
    void zeroRangeOnTmpfsIsReportedAsNotSupported() throws IOException {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "no /dev/shm");
        Path file = Files.createTempFile(shm, "sprout-native", ".img");
        try (NativeFile nf = NativeFile.open(file, true)) {
            Files.write(file, new byte[8192]);
            NativeException e = catchThrowableOfType(NativeException.class, () -> nf.zeroRange(0, 4096));
            assertThat(e.notSupported()).isTrue();
            assertThat(e.errnoName()).isEqualTo("EOPNOTSUPP");
            assertThat(e).hasMessageContaining("not supported on this filesystem");
            nf.punchHole(0, 4096); // while tmpfs can punch holes
        } finally {
            Files.delete(file);
        }
    }

    /** fstatfs(2)'s answer against the file store type Java reads from /proc/self/mounts. */
    @Test
    void aFileIsInMemoryOnlyExactlyOnTmpfsOrRamfs() throws IOException {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "no /dev/shm");
        Path inShm = Files.createTempFile(shm, "sprout-native", ".img");
        try {
            int inMemory = 0;
            for (Path file : new Path[] {inShm, dataFile(4096)}) {
                String type = Files.getFileStore(file).type();
                boolean expected = type.equals("tmpfs") || type.equals("ramfs");
                try (NativeFile nf = NativeFile.open(file, false)) {
                    assertThat(nf.inMemoryOnly()).as("%s on %s", file, type).isEqualTo(expected);
                    inMemory += expected ? 1 : 0;
                }
                try (NativeFile closed = NativeFile.open(file, false)) {
                    closed.close();
                    assertThat(closed.inMemoryOnly()).as("closed").isFalse();
                }
                assertThat(NativeFile.unsupported(file).inMemoryOnly()).as("without native access").isFalse();
            }
            assertThat(inMemory).as("/dev/shm is a tmpfs here").isPositive();
        } finally {
            Files.delete(inShm);
        }
    }

    @Test
    void aFileWithoutNativeAccessReportsEveryCallAsNotSupported() throws IOException {
        Path file = dataFile(4096);
        try (NativeFile nf = NativeFile.unsupported(file)) {
            assertThat(nf.isNative()).isFalse();
            for (Call call : new Call[] {() -> nf.punchHole(0, 1), () -> nf.zeroRange(0, 1), () -> nf.allocate(0, 1),
                () -> nf.seekData(0), () -> nf.seekHole(0), () -> nf.willNeed(0, 1)}) {
                NativeException e = catchThrowableOfType(NativeException.class, call::run);
                assertThat(e.notSupported()).isTrue();
                assertThat(e).hasMessageContaining(file.toString());
            }
        }
        assertThat(Files.readAllBytes(file)).containsOnly(7);
    }

    @Test
    void callsAfterCloseFailWithoutReachingAReusedDescriptor() throws IOException {
        Path file = dataFile(MIB);
        NativeFile nf = NativeFile.open(file, true);
        assertThat(nf.isNative()).isTrue();
        nf.close();
        nf.close();
        try (NativeFile other = NativeFile.open(dataFile(MIB), true)) {
            NativeException e = catchThrowableOfType(NativeException.class, () -> nf.punchHole(0, MIB));
            assertThat(e.errnoName()).isEqualTo("EBADF");
            assertThat(e).hasMessageContaining("closed");
            assertThat(other.seekHole(0)).isEqualTo(MIB);
        }
    }

    /** A native call, for the table of calls above. */
    private interface Call {
        void run() throws IOException;
    }

    private Path dataFile(int size) throws IOException {
        Path file = Files.createTempFile(dir, "native", ".img");
        byte[] data = new byte[size];
        Arrays.fill(data, (byte) 7);
        Files.write(file, data);
        return file;
    }
}
