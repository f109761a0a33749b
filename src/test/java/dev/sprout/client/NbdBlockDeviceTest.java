package dev.sprout.client;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.Capabilities;
import dev.sprout.block.Completion;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.Extent;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.block.RequestException;
import dev.sprout.block.TransferredWrites;
import dev.sprout.block.ZeroFlags;
import dev.sprout.nbd.TransmissionFlag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The client against sprout's own server: negotiation, sparse reads, block status, pipelining, errors. */
class NbdBlockDeviceTest {

    private static final int MiB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void negotiatesStructuredRepliesBaseAllocationAndBlockSizes() throws Exception {
        try (InProcessServer server = new InProcessServer(dir, MemoryBlockDevice.create(64 * MiB));
             NbdBlockDevice device = NbdBlockDevice.connect(server.uri())) {
            ExportInfo info = device.info();
            assertThat(info.size()).isEqualTo(64L * MiB);
            assertThat(info.structuredReplies()).isTrue();
            assertThat(info.contexts()).containsExactly("base:allocation");
            assertThat(info.allocationContext()).isNotNegative();
            assertThat(info.usedExportName()).isFalse();
            assertThat(info.has(TransmissionFlag.SEND_WRITE_ZEROES)).isTrue();
            assertThat(device.capabilities().extents()).isTrue();
            assertThat(device.capabilities().blockSizes().maximum()).isPositive();
        }
    }

    @Test
    void listsTheContextsTheServerOffersOnlyWhenAsked() throws Exception {
        try (InProcessServer server = new InProcessServer(dir, MemoryBlockDevice.create(MiB));
             NbdBlockDevice plain = NbdBlockDevice.connect(server.uri());
             NbdBlockDevice listing = NbdBlockDevice.connectListingContexts(server.uri())) {
            assertThat(plain.info().offeredContexts()).isEmpty();
            assertThat(listing.info().offeredContexts()).containsExactly("base:allocation");
            assertThat(listing.info().contexts()).containsExactly("base:allocation");
            assertThat(listing.capabilities().extents()).isTrue();
        }
    }

    @Test
    void sparseReadReassemblesDataAndHoleChunks() throws Exception {
        MemoryBlockDevice memory = MemoryBlockDevice.create(8 * MiB);
        byte[] data = new byte[100_000];
        new Random(1).nextBytes(data);
        memory.write(3 * MiB + 17, ByteBuffer.wrap(data), false);
        try (InProcessServer server = new InProcessServer(dir, memory);
             NbdBlockDevice device = NbdBlockDevice.connect(server.uri())) {
            ByteBuffer all = ByteBuffer.allocate(8 * MiB);
            Arrays.fill(all.array(), (byte) 0x77);
            device.read(0, all);
            assertThat(all.position()).isEqualTo(8 * MiB);
            byte[] expected = new byte[8 * MiB];
            System.arraycopy(data, 0, expected, 3 * MiB + 17, data.length);
            assertThat(all.array()).isEqualTo(expected);
        }
    }

    @Test
    void extentsReportHolesAndDataAsTheServerSeesThem() throws Exception {
        MemoryBlockDevice memory = MemoryBlockDevice.create(16 * MiB);
        memory.write(4 * MiB, ByteBuffer.wrap(new byte[MiB]).put(0, (byte) 1).put(MiB - 1, (byte) 2), false);
        try (InProcessServer server = new InProcessServer(dir, memory);
             NbdBlockDevice device = NbdBlockDevice.connect(server.uri())) {
            List<Extent> extents = new ArrayList<>();
            for (long at = 0; at < device.size(); at = extents.getLast().end()) {
                extents.addAll(device.extents(at, device.size() - at));
            }
            assertThat(extents).containsExactlyElementsOf(memoryExtents(memory));
            assertThat(extents).anyMatch(e -> !e.hole() && e.offset() == 4 * MiB);
            assertThat(extents).anyMatch(e -> !e.hole() && e.end() == 5 * MiB);
            assertThat(device.extents(MiB, 4096)).containsExactly(Extent.unallocated(MiB, 4096));
        }
    }

    @Test
    void manyThreadsShareOneConnectionWithRequestsInFlight() throws Exception {
        try (InProcessServer server = new InProcessServer(dir, MemoryBlockDevice.create(64 * MiB));
             NbdBlockDevice device = NbdBlockDevice.connect(server.uri());
             ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < 256; i++) {
                int block = i;
                done.add(threads.submit(() -> {
                    byte[] bytes = new byte[64 * 1024];
                    Arrays.fill(bytes, (byte) block);
                    device.write((long) block * bytes.length, ByteBuffer.wrap(bytes), false);
                    ByteBuffer back = ByteBuffer.allocate(bytes.length);
                    device.read((long) block * bytes.length, back);
                    assertThat(back.array()).isEqualTo(bytes);
                    return null;
                }));
            }
            for (Future<?> future : done) {
                future.get();
            }
        }
    }

    @Test
    void readsLargerThanTheMaximumPayloadAreSplitAndSentTogether() throws Exception {
        try (InProcessServer server = new InProcessServer(dir, MemoryBlockDevice.create(80 * MiB));
             NbdBlockDevice device = NbdBlockDevice.connect(server.uri())) {
            byte[] bytes = new byte[70 * MiB];
            new Random(2).nextBytes(bytes);
            device.write(5, ByteBuffer.wrap(bytes), true);
            ByteBuffer back = ByteBuffer.allocateDirect(70 * MiB);
            device.read(5, back);
            assertThat(back.flip()).isEqualTo(ByteBuffer.wrap(bytes));
        }
    }

    /** A transferred write asks its source for the payload of each WRITE, split at the maximum payload, in order. */
    @Test
    void transferredWritesTakeEachPayloadFromTheirSource() throws Exception {
        byte[] bytes = new byte[70 * MiB];
        new Random(3).nextBytes(bytes);
        List<long[]> pieces = new ArrayList<>();
        TransferredWrites.Source source = (offset, count, channel) -> {
            pieces.add(new long[] {offset, count});
            ByteBuffer payload = ByteBuffer.wrap(bytes, (int) (offset - 5), (int) count);
            while (payload.hasRemaining()) {
                channel.write(payload);
            }
        };
        try (InProcessServer server = new InProcessServer(dir, MemoryBlockDevice.create(80 * MiB));
             NbdBlockDevice device = NbdBlockDevice.connect(server.uri())) {
            device.writeFrom(5, bytes.length, source, true);
            ByteBuffer back = ByteBuffer.allocateDirect(bytes.length);
            device.read(5, back);
            assertThat(back.flip()).isEqualTo(ByteBuffer.wrap(bytes));
            long maximum = device.capabilities().blockSizes().maximum();
            assertThat(pieces).hasSizeGreaterThan(1).allSatisfy(piece -> assertThat(piece[1]).isLessThanOrEqualTo(maximum));
            for (int i = 1; i < pieces.size(); i++) {
                assertThat(pieces.get(i)[0]).isEqualTo(pieces.get(i - 1)[0] + pieces.get(i - 1)[1]);
            }
            assertThat(pieces.getLast()[0] + pieces.getLast()[1]).isEqualTo(5L + bytes.length);
        }
    }

    /**
     * A source that fails half-way through a payload leaves a WRITE the server can never finish:
     * the connection is closed at once, so nothing else is read as the rest of it, and every
     * later request fails instead of waiting. The server drops the half-sent write and goes on.
     */
    @Test
    @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aTransferredPayloadCutShortClosesTheConnectionAndTheServerGoesOn() throws Exception {
        TransferredWrites.Source failing = (offset, count, channel) -> {
            channel.write(ByteBuffer.allocate((int) count / 2).put(0, (byte) 9));
            throw new IOException("medium error in the source");
        };
        try (InProcessServer server = new InProcessServer(dir, MemoryBlockDevice.create(4 * MiB));
             NbdBlockDevice device = NbdBlockDevice.connect(server.uri())) {
            assertThatThrownBy(() -> device.writeFrom(MiB, 64 * 1024, failing, false))
                    .isInstanceOfSatisfying(DeviceException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EIO))
                    .hasMessageContaining("medium error in the source").hasMessageContaining(server.uri());
            assertThatThrownBy(() -> device.read(0, ByteBuffer.allocate(4096)))
                    .isInstanceOfSatisfying(DeviceException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EIO));
            try (NbdBlockDevice again = NbdBlockDevice.connect(server.uri())) {
                ByteBuffer untouched = ByteBuffer.allocate(64 * 1024);
                again.read(MiB, untouched);
                assertThat(untouched.array()).containsOnly(0);
            }
        }
    }

    /** Once the server is gone, a write fails at once with EIO, naming the export, however it finds out. */
    @Test
    @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aWriteToAServerThatWentAwayFailsNamingTheExport() throws Exception {
        InProcessServer server = new InProcessServer(dir, MemoryBlockDevice.create(4 * MiB));
        try (NbdBlockDevice device = NbdBlockDevice.connect(server.uri())) {
            device.write(0, ByteBuffer.allocate(4096), false);
            server.close();
            for (int i = 0; i < 4; i++) {
                assertThatThrownBy(() -> device.write(0, ByteBuffer.allocate(MiB), false))
                        .isInstanceOfSatisfying(DeviceException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EIO))
                        .hasMessageContaining(server.uri());
            }
        }
    }

    @Test
    void serverErrorsArriveAsBlockExceptionsAndTheConnectionGoesOn() throws Exception {
        try (InProcessServer server = new InProcessServer(dir, MemoryBlockDevice.create(MiB));
             NbdBlockDevice device = NbdBlockDevice.connect(server.uri())) {
            assertThatThrownBy(() -> device.read(MiB - 10, ByteBuffer.allocate(20)))
                    .isInstanceOfSatisfying(RequestException.class, e -> assertThat(e.errno()).isIn(Errno.EINVAL, Errno.ENOSPC))
                    .hasMessageContaining("READ " + (MiB - 10) + "+20");
            device.zero(0, 4096, new ZeroFlags(false, false, true));
            ByteBuffer ok = ByteBuffer.allocate(10);
            device.read(0, ok);
            assertThat(ok.array()).containsOnly(0);
        }
    }

    @Test
    void unknownExportAndMissingServerGiveOneLineErrorsNamingTheUri() throws Exception {
        try (InProcessServer server = new InProcessServer(dir, MemoryBlockDevice.create(MiB))) {
            String wrong = server.uri().replace(":///", ":///nosuch");
            assertThatThrownBy(() -> NbdBlockDevice.connect(wrong))
                    .isInstanceOf(DeviceException.class).hasMessageContaining(wrong).hasMessageContaining("nosuch");
        }
        String absent = "nbd+unix:///?socket=" + dir.resolve("absent.sock");
        assertThatThrownBy(() -> NbdBlockDevice.connect(absent))
                .isInstanceOf(DeviceException.class).hasMessageStartingWith("cannot connect to " + absent)
                .hasMessageNotContaining("\n");
    }

    /**
     * A listening socket that never says a word, as a port of another protocol that waits for its
     * client to talk first: the connection is given up after the limit, on a Unix socket and on TCP.
     */
    @Test
    @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aServerThatNeverAnswersFailsTheHandshakeAfterTheLimit() throws Exception {
        Path socket = dir.resolve("silent.sock");
        try (ServerSocketChannel unix = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
             ServerSocketChannel tcp = ServerSocketChannel.open()) {
            unix.bind(UnixDomainSocketAddress.of(socket));
            tcp.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            int port = ((InetSocketAddress) tcp.getLocalAddress()).getPort();
            for (String uri : List.of("nbd+unix:///?socket=" + socket, "nbd://127.0.0.1:" + port + "/")) {
                long start = System.nanoTime();
                assertThatThrownBy(() -> NbdBlockDevice.connect(NbdUri.parse(uri), false, Duration.ofSeconds(1)))
                        .isInstanceOf(DeviceException.class)
                        .hasMessage("handshake with " + uri + " failed: no answer in 1 s (is it an NBD server?)");
                assertThat(Duration.ofNanos(System.nanoTime() - start)).as(uri).isLessThan(Duration.ofSeconds(10));
            }
        }
    }

    @Test
    void readLaterFinishesOnTheReaderThreadAcrossTheMaximumPayload() throws Exception {
        byte[] data = new byte[40 * MiB];
        new Random(11).nextBytes(data);
        try (MemoryBlockDevice memory = MemoryBlockDevice.create(64 * MiB)) {
            memory.write(3 * MiB, ByteBuffer.wrap(data), false);
            try (InProcessServer server = new InProcessServer(dir, memory);
                 NbdBlockDevice device = NbdBlockDevice.connect(server.uri())) {
                assertThat(device.capabilities().blockSizes().maximum()).isLessThan(data.length); // sent in parts
                ByteBuffer dst = ByteBuffer.allocateDirect(data.length + 10).position(10);
                CompletableFuture<String> finished = new CompletableFuture<>();
                device.readLater(3 * MiB, dst, threadOf(finished));
                assertThat(finished.get(30, TimeUnit.SECONDS)).startsWith("nbd-reader");
                assertThat(dst.position()).isEqualTo(10);
                byte[] read = new byte[data.length];
                dst.get(read);
                assertThat(Arrays.equals(read, data)).isTrue();
            }
        }
    }

    @Test
    void writeLaterFinishesOnTheReaderThreadAcrossTheMaximumPayload() throws Exception {
        byte[] data = new byte[40 * MiB];
        new Random(13).nextBytes(data);
        try (MemoryBlockDevice memory = MemoryBlockDevice.create(64 * MiB);
             InProcessServer server = new InProcessServer(dir, memory);
             NbdBlockDevice device = NbdBlockDevice.connect(server.uri())) {
            assertThat(device.capabilities().blockSizes().maximum()).isLessThan(data.length); // sent in parts
            ByteBuffer src = ByteBuffer.allocateDirect(data.length + 10).position(10);
            src.put(data).position(10);
            CompletableFuture<String> finished = new CompletableFuture<>();
            device.writeLater(3 * MiB, src, threadOf(finished));
            assertThat(finished.get(30, TimeUnit.SECONDS)).startsWith("nbd-reader");
            assertThat(src.position()).isEqualTo(10);
            byte[] written = new byte[data.length];
            memory.read(3 * MiB, ByteBuffer.wrap(written));
            assertThat(Arrays.equals(written, data)).isTrue();
        }
    }

    /**
     * A zeroing longer than one command carries (32-bit lengths) goes out in pieces, the next once
     * the one before is done (however long the range, it holds one of the connection's requests),
     * and finishes after the last.
     */
    @Test
    void zeroLaterSendsALongRangeInPiecesAndFinishesAfterTheLast() throws Exception {
        long size = 12L << 30;
        AtomicInteger zeroings = new AtomicInteger();
        try (MemoryBlockDevice memory = MemoryBlockDevice.create(size)) {
            BlockDevice counted = new ForwardingBlockDevice(memory) {
                @Override
                public void zero(long offset, long length, ZeroFlags flags) throws IOException {
                    zeroings.incrementAndGet();
                    in.zero(offset, length, flags);
                }
            };
            byte[] data = new byte[MiB];
            new Random(14).nextBytes(data);
            for (long at : new long[] {MiB, 5L << 30, 9L << 30}) {
                memory.write(at, ByteBuffer.wrap(data), false);
            }
            try (InProcessServer server = new InProcessServer(dir, counted);
                 NbdBlockDevice device = NbdBlockDevice.connect(server.uri())) {
                CompletableFuture<IOException> zeroed = new CompletableFuture<>();
                device.zeroLater(0, 10L << 30, zeroed::complete);
                assertThat(zeroed.get(30, TimeUnit.SECONDS)).isNull();
                assertThat(zeroings.get()).as("pieces").isEqualTo(3);
                assertThat(memory.extents(0, 10L << 30)).allSatisfy(e -> assertThat(e.zero()).isTrue());
            }
        }
    }

    @Test
    void writesAndZeroingsLaterOnAReadOnlyExportFailInTheirCompletion() throws Exception {
        BlockDevice readOnly = new ForwardingBlockDevice(MemoryBlockDevice.create(MiB)) {
            @Override
            public Capabilities capabilities() {
                return in.capabilities().readOnly();
            }
        };
        try (InProcessServer server = new InProcessServer(dir, readOnly);
             NbdBlockDevice device = NbdBlockDevice.connect(server.uri())) {
            CompletableFuture<IOException> write = new CompletableFuture<>();
            device.writeLater(0, ByteBuffer.allocate(4096), write::complete);
            CompletableFuture<IOException> zero = new CompletableFuture<>();
            device.zeroLater(0, 4096, zero::complete);
            assertThat(write.get(30, TimeUnit.SECONDS)).isInstanceOf(RequestException.class).hasMessageContaining("read-only");
            assertThat(zero.get(30, TimeUnit.SECONDS)).isInstanceOf(RequestException.class).hasMessageContaining("read-only");
        }
    }

    @Test
    void aCompletionMaySendTheNextReadFromTheReaderThread() throws Exception {
        byte[] data = new byte[4 * MiB];
        new Random(12).nextBytes(data);
        try (MemoryBlockDevice memory = MemoryBlockDevice.create(4 * MiB)) {
            memory.write(0, ByteBuffer.wrap(data), false);
            try (InProcessServer server = new InProcessServer(dir, memory);
                 NbdBlockDevice device = NbdBlockDevice.connect(server.uri())) {
                ByteBuffer dst = ByteBuffer.allocateDirect(data.length);
                CompletableFuture<Void> all = new CompletableFuture<>();
                // 1,024 reads of 4 KiB, each sent by the completion of the one before.
                Completion[] chain = new Completion[1];
                int[] next = {0};
                chain[0] = failure -> {
                    if (failure != null) {
                        all.completeExceptionally(failure);
                    } else if (++next[0] == 1024) {
                        all.complete(null);
                    } else {
                        device.readLater(next[0] * 4096L, dst.slice(next[0] * 4096, 4096), chain[0]);
                    }
                };
                device.readLater(0, dst.slice(0, 4096), chain[0]);
                all.get(30, TimeUnit.SECONDS);
                byte[] read = new byte[data.length];
                dst.get(read);
                assertThat(Arrays.equals(read, data)).isTrue();
            }
        }
    }

    @Test
    void aFailedOrUnsendableReadGoesToItsCompletionNotToTheCaller() throws Exception {
        BlockDevice failing = new ForwardingBlockDevice(MemoryBlockDevice.create(MiB)) {
            @Override
            public void read(long offset, ByteBuffer dst) throws IOException {
                throw new DeviceException(Errno.EIO, "medium error at " + offset);
            }
        };
        try (InProcessServer server = new InProcessServer(dir, failing)) {
            NbdBlockDevice device = NbdBlockDevice.connect(server.uri());
            CompletableFuture<IOException> failed = new CompletableFuture<>();
            device.readLater(4096, ByteBuffer.allocate(4096), failed::complete);
            assertThat(failed.get(30, TimeUnit.SECONDS))
                    .isInstanceOfSatisfying(DeviceException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EIO));

            device.close();
            CompletableFuture<IOException> closed = new CompletableFuture<>();
            device.readLater(0, ByteBuffer.allocate(4096), closed::complete);
            assertThat(closed.get(30, TimeUnit.SECONDS)).isInstanceOf(DeviceException.class).hasMessageContaining("closed");
        }
    }

    @Test
    @Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a hung reader fails, not hangs
    void aCompletionThatThrowsBreaksTheConnectionInsteadOfHangingIt() throws Exception {
        try (InProcessServer server = new InProcessServer(dir, MemoryBlockDevice.create(MiB));
             NbdBlockDevice device = NbdBlockDevice.connect(server.uri())) {
            device.readLater(0, ByteBuffer.allocate(4096), failure -> {
                throw new IllegalStateException("a broken completion");
            });
            // Every later request fails (the reader is gone), and none waits forever.
            CompletableFuture<IOException> next = new CompletableFuture<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!next.isDone() && System.nanoTime() < deadline) {
                CompletableFuture<IOException> attempt = new CompletableFuture<>();
                device.readLater(0, ByteBuffer.allocate(4096), attempt::complete);
                IOException failure = attempt.get(10, TimeUnit.SECONDS);
                if (failure != null) {
                    next.complete(failure);
                }
            }
            assertThat(next.getNow(null)).isInstanceOf(DeviceException.class).hasMessageContaining("a broken completion");
            assertThatThrownBy(() -> device.read(0, ByteBuffer.allocate(4096))).isInstanceOf(DeviceException.class);
        }
    }

    /** A completion that completes {@code finished} with the name of the thread it ran on, or with its failure. */
    private static Completion threadOf(CompletableFuture<String> finished) {
        return failure -> {
            if (failure != null) {
                finished.completeExceptionally(failure);
            } else {
                finished.complete(Thread.currentThread().getName());
            }
        };
    }

    private static List<Extent> memoryExtents(BlockDevice memory) throws Exception {
        List<Extent> extents = new ArrayList<>();
        for (long at = 0; at < memory.size(); ) {
            for (Extent e : memory.extents(at, memory.size() - at)) {
                if (!extents.isEmpty() && extents.getLast().joinsWith(e)) {
                    Extent last = extents.removeLast();
                    e = last.withRange(last.offset(), last.length() + e.length());
                }
                extents.add(e);
                at = e.end();
            }
        }
        return extents;
    }
}
