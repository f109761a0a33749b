package dev.sprout.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.sprout.block.BlockException;
import dev.sprout.block.Capabilities;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.Extent;
import dev.sprout.block.RequestException;
import dev.sprout.block.ZeroFlags;
import dev.sprout.os.NativeFile;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** What the contract cannot see of a file-backed device: the host file's allocation, sizing and errors. */
class FileBlockDeviceTest {

    private static final long KIB = 1 << 10;
    private static final long MIB = 1 << 20;
    private static final long GIB = 1 << 30;

    @TempDir
    Path dir;

    @Test
    void sizeCreatesASparseFileAndWritesAllocateOnlyWhatTheyTouch() throws IOException {
        Path file = dir.resolve("disk.img");
        try (FileBlockDevice device = FileBlockDevice.open(file, false, OptionalLong.of(2 * GIB))) {
            assertThat(device.size()).isEqualTo(2 * GIB);
            assertThat(Files.size(file)).isEqualTo(2 * GIB);
            assertThat(allocated(file)).isZero();
            device.write(GIB, ByteBuffer.wrap(random(4096, 1)), true);
            assertThat(allocated(file)).isBetween(4 * KIB, 64 * KIB);
            assertThat(read(device, GIB, 4096)).isEqualTo(random(4096, 1));
        }
    }

    @Test
    void dataInThePageCacheIsReadAtOnceAndPlainWritesNeverWaitButFuaWritesDo() throws IOException {
        assumeTrue(NativeFile.available(), "preadv2 needs native access");
        Path file = dir.resolve("cached.img");
        Files.write(file, random((int) MIB, 3)); // just written: in the page cache
        try (FileBlockDevice device = FileBlockDevice.open(file, false, OptionalLong.empty())) {
            ByteBuffer dst = ByteBuffer.allocateDirect(8192);
            assertThat(device.readIfReady(4096, dst)).as("a read of cached data").isTrue();
            assertThat(dst.flip()).isEqualTo(ByteBuffer.wrap(random((int) MIB, 3), 4096, 8192));
            assertThat(device.readIfReady(0, ByteBuffer.allocate(16))).as("a heap buffer is never read at once").isFalse();

            ByteBuffer fua = ByteBuffer.wrap(random(4096, 4));
            assertThat(device.writeIfReady(0, fua, true)).as("FUA waits for the disk").isFalse();
            assertThat(fua.position()).isZero();
            assertThat(device.writeIfReady(0, fua, false)).isTrue();
            assertThat(read(device, 0, 4096)).isEqualTo(random(4096, 4));
        }
        try (FileBlockDevice readOnly = FileBlockDevice.open(file, true, OptionalLong.empty())) {
            assertThat(readOnly.writeIfReady(0, ByteBuffer.wrap(random(4096, 5)), false)).isFalse();
        }
    }

    @Test
    void sizeExtendsASmallerFileWithoutWritingAndKeepsItsData() throws IOException {
        Path file = dir.resolve("disk.img");
        Files.write(file, random((int) MIB, 2));
        long before = allocated(file);
        try (FileBlockDevice device = FileBlockDevice.open(file, false, OptionalLong.of(GIB))) {
            assertThat(device.size()).isEqualTo(GIB);
            assertThat(allocated(file)).isEqualTo(before);
            assertThat(read(device, 0, (int) MIB)).isEqualTo(random((int) MIB, 2));
            assertThat(read(device, MIB, 4096)).containsOnly(0);
        }
        try (FileBlockDevice device = FileBlockDevice.open(file, false, OptionalLong.of(GIB))) {
            assertThat(device.size()).as("the same size again").isEqualTo(GIB);
        }
    }

    @Test
    void sizeNeverShrinksAFile() throws IOException {
        Path file = dir.resolve("disk.img");
        Files.write(file, new byte[(int) (2 * MIB)]);
        assertThatThrownBy(() -> FileBlockDevice.open(file, false, OptionalLong.of(MIB)))
                .isInstanceOf(FileSystemException.class)
                .hasMessage(file + ": is 2097152 bytes (2M), larger than size=1M;"
                        + " refusing to shrink it (remove size= to use it as it is)");
        assertThat(Files.size(file)).isEqualTo(2 * MIB);
    }

    @Test
    void withoutSizeAMissingFileIsAnErrorNamingIt() {
        Path file = dir.resolve("missing.img");
        assertThatThrownBy(() -> FileBlockDevice.open(file, false))
                .isInstanceOf(NoSuchFileException.class)
                .hasMessage(file + ": no such file (give size=SIZE to create it)");
        assertThat(file).doesNotExist();
    }

    @Test
    void aMissingFileOpenedReadOnlyIsAnErrorWithoutTheHintToCreateIt() {
        Path file = dir.resolve("missing.img");
        assertThatThrownBy(() -> FileBlockDevice.open(file, true))
                .isInstanceOf(NoSuchFileException.class)
                .hasMessage(file + ": no such file");
        assertThat(file).doesNotExist();
    }

    @Test
    void directoriesAndDevicesAreRefused() throws IOException {
        assertThatThrownBy(() -> FileBlockDevice.open(dir, false))
                .hasMessage(dir + ": is a directory, not a disk image file");
        assertThatThrownBy(() -> FileBlockDevice.open(dir, false, OptionalLong.of(MIB)))
                .hasMessageContaining("is a directory");
        Path devNull = Path.of("/dev/null");
        assumeTrue(Files.exists(devNull));
        assertThatThrownBy(() -> FileBlockDevice.open(devNull, true))
                .hasMessage("/dev/null: is not a regular file (devices, pipes and sockets are not supported)");
    }

    @Test
    void anUnreadableFileIsAnErrorNamingIt() throws IOException {
        assumeTrue(!"root".equals(System.getProperty("user.name")), "root reads every file");
        Path file = dir.resolve("secret.img");
        Files.write(file, new byte[4096]);
        assertThat(file.toFile().setReadable(false, false)).isTrue();
        assertThatThrownBy(() -> FileBlockDevice.open(file, true)).hasMessage(file + ": permission denied");
    }

    @Test
    void readOnlyRefusesModificationsWithEpermAndStillReads() throws IOException {
        Path file = dir.resolve("disk.img");
        byte[] data = random((int) MIB, 3);
        Files.write(file, data);
        try (FileBlockDevice device = FileBlockDevice.open(file, true)) {
            assertThat(device.capabilities()).isEqualTo(Capabilities.full().readOnly());
            for (Call call : new Call[] {() -> device.write(0, ByteBuffer.allocate(10), false),
                () -> device.trim(0, 4096, false), () -> device.zero(0, 4096, ZeroFlags.PUNCH),
                () -> device.zero(0, 4096, new ZeroFlags(true, true, true))}) {
                RequestException e = catchThrowableOfType(RequestException.class, call::run);
                assertThat(e.errno()).isEqualTo(Errno.EPERM);
                assertThat(e).hasMessageContaining("read-only File(" + file + ")");
            }
            assertThat(read(device, 0, (int) MIB)).isEqualTo(data);
            assertThat(device.extents(0, MIB)).containsExactly(Extent.data(0, MIB));
            device.cache(0, MIB);
            device.flush();
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(data);
    }

    @Test
    void readOnlyNeitherCreatesNorExtends() throws IOException {
        Path file = dir.resolve("disk.img");
        assertThatThrownBy(() -> FileBlockDevice.open(file, true, OptionalLong.of(MIB)))
                .hasMessageContaining("read-only export cannot create it");
        Files.write(file, new byte[4096]);
        assertThatThrownBy(() -> FileBlockDevice.open(file, true, OptionalLong.of(MIB)))
                .hasMessageContaining("read-only export cannot extend it to size=1M");
        assertThat(Files.size(file)).isEqualTo(4096);
    }

    @Test
    void trimPunchesAHoleThatReadsAsZeroes() throws IOException {
        Path file = filledFile(8 * MIB);
        try (FileBlockDevice device = FileBlockDevice.open(file, false)) {
            assertThat(allocated(file)).isGreaterThanOrEqualTo(8 * MIB);
            device.trim(2 * MIB, 4 * MIB, true);
            assertThat(allocated(file)).isBetween(4 * MIB, 4 * MIB + 64 * KIB);
            assertThat(read(device, 2 * MIB, (int) (4 * MIB))).containsOnly(0);
            assertThat(read(device, 2 * MIB - 1, 1)).isNotEqualTo(new byte[1]);
        }
    }

    @Test
    void zeroWithoutNoHolePunchesAndWithNoHoleStaysAllocated() throws IOException {
        Path file = filledFile(8 * MIB);
        try (FileBlockDevice device = FileBlockDevice.open(file, false)) {
            device.zero(0, 4 * MIB, new ZeroFlags(true, true, true));
            assertThat(allocated(file)).as("after NO_HOLE").isGreaterThanOrEqualTo(8 * MIB);
            device.zero(4 * MIB, 2 * MIB, new ZeroFlags(false, true, false));
            assertThat(allocated(file)).as("after punching").isBetween(6 * MIB, 6 * MIB + 64 * KIB);
            assertThat(read(device, 0, (int) (6 * MIB))).containsOnly(0);
            assertThat(read(device, 6 * MIB, (int) (2 * MIB))).isEqualTo(Arrays.copyOfRange(random((int) (8 * MIB), 4),
                    (int) (6 * MIB), (int) (8 * MIB)));
        }
    }

    @Test
    void zeroWithNoHoleOnTmpfsFallsBackToPunchingAndAllocating() throws IOException {
        Path file = tmpfsFile();
        try (FileBlockDevice device = FileBlockDevice.open(file, false, OptionalLong.of(4 * MIB))) {
            device.write(0, ByteBuffer.wrap(random((int) (4 * MIB), 5)), false);
            for (int round = 0; round < 2; round++) { // the second time without trying ZERO_RANGE
                device.zero(MIB, MIB, new ZeroFlags(true, true, false));
                assertThat(allocated(file)).isEqualTo(4 * MIB);
                assertThat(read(device, MIB, (int) MIB)).containsOnly(0);
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void extentsReportWhatWasWritten() throws IOException {
        Path file = dir.resolve("disk.img");
        try (FileBlockDevice device = FileBlockDevice.open(file, false, OptionalLong.of(16 * MIB))) {
            device.write(MIB, ByteBuffer.wrap(random((int) (64 * KIB), 6)), false);
            device.write(3 * MIB, ByteBuffer.wrap(random(4096, 7)), false);
            List<Extent> expected = List.of(Extent.unallocated(0, MIB), Extent.data(MIB, 64 * KIB),
                    Extent.unallocated(MIB + 64 * KIB, 2 * MIB - 64 * KIB), Extent.data(3 * MIB, 4096),
                    Extent.unallocated(3 * MIB + 4096, 13 * MIB - 4096));
            assertThat(device.extents(0, 16 * MIB)).isEqualTo(expected);
            device.flush();
            assertThat(device.extents(0, 16 * MIB)).as("after flush").isEqualTo(expected);
            assertThat(device.extents(MIB + 100, 200)).containsExactly(Extent.data(MIB + 100, 200));
            assertThat(device.extents(MIB - 100, 200))
                    .containsExactly(Extent.unallocated(MIB - 100, 100), Extent.data(MIB, 100));
            assertThat(device.extents(5 * MIB, 11 * MIB)).containsExactly(Extent.unallocated(5 * MIB, 11 * MIB));
            device.trim(MIB, 64 * KIB, false);
            assertThat(device.extents(0, 3 * MIB)).containsExactly(Extent.unallocated(0, 3 * MIB));
        }
    }

    @Test
    void extentsStopAfterTheirLimitAndContinueWhereTheyStopped() throws IOException {
        int runs = FileExtents.MAX_EXTENTS + 100;
        Path file = dir.resolve("striped.img");
        try (FileBlockDevice device = FileBlockDevice.open(file, false, OptionalLong.of(runs * 8 * KIB))) {
            for (int i = 0; i < runs; i++) {
                device.write(i * 8 * KIB, ByteBuffer.wrap(random(4096, i)), false);
            }
            List<Extent> first = device.extents(0, device.size());
            assertThat(first).hasSize(FileExtents.MAX_EXTENTS);
            assertThat(first.getLast().end()).isEqualTo(FileExtents.MAX_EXTENTS * 4 * KIB);
            List<Extent> all = new ArrayList<>(first);
            while (all.getLast().end() < device.size()) {
                all.addAll(device.extents(all.getLast().end(), device.size() - all.getLast().end()));
            }
            assertThat(all).hasSize(2 * runs);
            for (int i = 0; i < all.size(); i++) {
                Extent extent = all.get(i);
                assertThat(extent.offset()).isEqualTo(i * 4 * KIB);
                assertThat(extent.length()).isEqualTo(4 * KIB);
                assertThat(extent.hole()).isEqualTo(i % 2 == 1);
            }
        }
    }

    @Test
    void servesTheLargestFileTheTemporaryFileSystemAllows() throws IOException {
        // ext4 with 4 KiB blocks stops at 16 TiB - 4 KiB; XFS, btrfs and tmpfs allow 2^63-1.
        for (long size : new long[] {Long.MAX_VALUE, (16L << 40) - 4096, 1L << 40}) {
            Path file = dir.resolve("huge-" + size + ".img");
            try (FileBlockDevice device = FileBlockDevice.open(file, false, OptionalLong.of(size))) {
                exerciseHugeDevice(device);
                return;
            } catch (FileSystemException e) {
                assertThat(e).hasMessageContaining("File too large");
            }
        }
    }

    @Test
    void servesA2To63Minus1ByteFileOnTmpfs() throws IOException {
        Path file = tmpfsFile();
        try (FileBlockDevice device = FileBlockDevice.open(file, false, OptionalLong.of(Long.MAX_VALUE))) {
            exerciseHugeDevice(device);
            device.zero(Long.MAX_VALUE - 100, 100, new ZeroFlags(true, false, true));
            assertThat(read(device, Long.MAX_VALUE - 100, 100)).containsOnly(0);
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Test
    void withoutNativeCallsZeroesAreWrittenFastZeroIsRefusedAndAllIsData() throws IOException {
        Path file = dir.resolve("plain.img");
        Files.write(file, random((int) MIB, 8));
        FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try (FileBlockDevice device = new FileBlockDevice(file, channel, NativeFile.unsupported(file), false)) {
            Capabilities caps = device.capabilities();
            assertThat(caps.writable()).isTrue();
            assertThat(caps.trim() || caps.zero() || caps.fastZero() || caps.extents() || caps.cache()).isFalse();
            RequestException e = catchThrowableOfType(RequestException.class,
                    () -> device.zero(0, 4096, new ZeroFlags(false, true, false)));
            assertThat(e.errno()).isEqualTo(Errno.ENOTSUP);
            assertThat(read(device, 0, 4096)).isEqualTo(Arrays.copyOf(random((int) MIB, 8), 4096));
            device.zero(100, MIB - 200, ZeroFlags.PUNCH);
            assertThat(read(device, 100, (int) MIB - 200)).containsOnly(0);
            device.trim(0, MIB, false);
            device.cache(0, MIB);
            assertThat(device.extents(10, 1000)).containsExactly(Extent.data(10, 1000));
        }
    }

    @Test
    void nameShowsTheAbsolutePathAndClosedDevicesFailWithEshutdown() throws IOException {
        Path file = dir.resolve("named.img");
        FileBlockDevice device = FileBlockDevice.open(file, false, OptionalLong.of(MIB));
        assertThat(device).hasToString("File(" + file.toAbsolutePath() + ")");
        device.close();
        DeviceException e = catchThrowableOfType(DeviceException.class, () -> read(device, 0, 1));
        assertThat(e.errno()).isEqualTo(Errno.ESHUTDOWN);
        assertThat(e).hasMessage("File(" + file.toAbsolutePath() + ") is closed");
    }

    /**
     * transferTo puts the bytes into a socket without a buffer of ours; where the file has shrunk
     * since it was opened, zeroes follow, as a read gives, so that a peer waiting for a WRITE's
     * payload always gets all of it.
     */
    @Test
    @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a transfer that never ends fails
    void transferToSendsTheFileBytesIntoASocketAndZeroesPastAShrunkenEnd() throws Exception {
        Path file = dir.resolve("sent.img");
        byte[] data = random((int) (3 * MIB), 4);
        Files.write(file, data);
        try (FileBlockDevice device = FileBlockDevice.open(file, true);
             ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            listener.bind(UnixDomainSocketAddress.of(dir.resolve("socket")));
            try (SocketChannel sender = SocketChannel.open(listener.getLocalAddress());
                 SocketChannel receiver = listener.accept()) {
                CompletableFuture<byte[]> whole = receive(receiver, (int) MIB + 5);
                device.transferTo(17, MIB + 5, sender);
                assertThat(whole.get()).isEqualTo(Arrays.copyOfRange(data, 17, (int) MIB + 22));

                try (FileChannel shrink = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    shrink.truncate(2 * MIB);
                }
                CompletableFuture<byte[]> acrossTheEnd = receive(receiver, 1000);
                device.transferTo(2 * MIB - 100, 1000, sender);
                byte[] expected = new byte[1000];
                System.arraycopy(data, (int) (2 * MIB - 100), expected, 0, 100);
                assertThat(acrossTheEnd.get()).isEqualTo(expected);
            }
            device.close();
            DeviceException closed = catchThrowableOfType(DeviceException.class,
                    () -> device.transferTo(0, 1, Channels.newChannel(new ByteArrayOutputStream())));
            assertThat(closed.errno()).isEqualTo(Errno.ESHUTDOWN);
        }
    }

    /** Reads {@code n} bytes from {@code channel} on another thread. */
    private static CompletableFuture<byte[]> receive(SocketChannel channel, int n) {
        return CompletableFuture.supplyAsync(() -> {
            ByteBuffer bytes = ByteBuffer.allocate(n);
            try {
                while (bytes.hasRemaining()) {
                    if (channel.read(bytes) < 0) {
                        throw new IOException("closed after " + bytes.position() + " bytes");
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return bytes.array();
        });
    }

    @Test
    void hostOutOfSpaceMapsToEnospcAndOtherFailuresToEio() {
        for (String message : List.of("No space left on device", "Disk quota exceeded", "File too large")) {
            assertThat(ChannelIo.noSpace(new IOException(message))).as(message).isTrue();
        }
        assertThat(ChannelIo.noSpace(new IOException("Input/output error"))).isFalse();
        assertThat(ChannelIo.noSpace(new IOException())).isFalse();
    }

    /** Writes at 1 GiB and across the last bytes, then checks data, extents and trimming there. */
    private static void exerciseHugeDevice(FileBlockDevice device) throws IOException {
        long size = device.size();
        byte[] tail = "the end".getBytes(StandardCharsets.US_ASCII);
        long tailAt = size - tail.length;
        device.write(GIB, ByteBuffer.wrap(random(4096, 9)), false);
        device.write(tailAt, ByteBuffer.wrap(tail), true);
        assertThat(read(device, tailAt, tail.length)).isEqualTo(tail);
        assertThat(read(device, GIB, 4096)).isEqualTo(random(4096, 9));
        long lastBlock = tailAt & -4096L;
        // Near 2^63 the last stretch is always reported as data: tmpfs's SEEK_DATA misses it there.
        long trusted = size > Long.MAX_VALUE - FileExtents.UNTRUSTED_TAIL
                ? size & -FileExtents.UNTRUSTED_TAIL : size;
        long dataFrom = Math.min(lastBlock, trusted);
        assertThat(device.extents(0, size)).containsExactly(Extent.unallocated(0, GIB), Extent.data(GIB, 4096),
                Extent.unallocated(GIB + 4096, dataFrom - GIB - 4096), Extent.data(dataFrom, size - dataFrom));
        assertThat(device.extents(size - 1, 1)).containsExactly(Extent.data(size - 1, 1));
        device.trim(lastBlock, size - lastBlock, false);
        List<Extent> afterTrim = trusted == size
                ? List.of(Extent.unallocated(GIB + 4096, size - GIB - 4096))
                : List.of(Extent.unallocated(GIB + 4096, trusted - GIB - 4096), Extent.data(trusted, size - trusted));
        assertThat(device.extents(GIB + 4096, size - GIB - 4096)).isEqualTo(afterTrim);
        assertThat(read(device, tailAt, tail.length)).containsOnly(0);
    }

    /** A file of random data, allocated on disk. */
    private Path filledFile(long size) throws IOException {
        Path file = Files.createTempFile(dir, "filled", ".img");
        Files.write(file, random((int) size, 4), StandardOpenOption.SYNC);
        return file;
    }

    private static Path tmpfsFile() throws IOException {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "no tmpfs at /dev/shm");
        Path file = Files.createTempFile(shm, "sprout-file-test", ".img");
        Files.delete(file);
        return file;
    }

    /** The bytes the file system allocated to {@code file}, from stat(1): %b blocks of %B bytes. */
    private static long allocated(Path file) throws IOException {
        Process stat = new ProcessBuilder("stat", "-c", "%b %B", file.toString()).redirectErrorStream(true).start();
        String out = new String(stat.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
        try {
            assertThat(stat.waitFor()).as("stat: %s", out).isZero();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        String[] fields = out.split(" ");
        return Long.parseLong(fields[0]) * Long.parseLong(fields[1]);
    }

    private static byte[] read(FileBlockDevice device, long offset, int length) throws IOException {
        ByteBuffer dst = ByteBuffer.allocate(length);
        device.read(offset, dst);
        return dst.array();
    }

    /** Random bytes, none of them zero, from a fixed seed. */
    private static byte[] random(int length, long seed) {
        byte[] data = new byte[length];
        new Random(seed).nextBytes(data);
        for (int i = 0; i < length; i++) {
            data[i] |= 1;
        }
        return data;
    }

    /** A device call, for tables of calls. */
    private interface Call {
        void run() throws BlockException;
    }
}
