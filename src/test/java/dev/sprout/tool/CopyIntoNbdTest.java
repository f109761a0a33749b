package dev.sprout.tool;

import dev.sprout.backend.FileBlockDevice;
import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.block.TransferredWrites;
import dev.sprout.client.MultiConnectionDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Copy out of a file into an NBD export, where the data goes from the file into the socket by
 * sendfile(2) over a Unix socket and only small probes of it are read to find zeroes: content,
 * which blocks count as data, and which way the bytes went.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CopyIntoNbdTest {

    private static final int KiB = 1 << 10;
    private static final int MiB = 1 << 20;
    private static final long SIZE = 16L * MiB;

    @TempDir
    Path dir;

    /**
     * 2 MiB of data at 1 MiB; at 8 MiB a 64 KiB block of written zeroes (allocated, so the source's
     * extents call it data); at 10 MiB a 64 KiB block whose first 4 KiB are zero and the rest data,
     * which a probe of its start alone would take for zeroes.
     */
    private Path source() throws IOException {
        Path file = dir.resolve("source.img");
        Random random = new Random(8);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            channel.truncate(SIZE);
            byte[] data = new byte[2 * MiB];
            random.nextBytes(data);
            write(channel, MiB, data);
            write(channel, 8 * MiB, new byte[64 * KiB]);
            byte[] lateData = new byte[64 * KiB];
            random.nextBytes(lateData);
            Arrays.fill(lateData, 0, ChunkData.InFile.PROBE, (byte) 0);
            write(channel, 10 * MiB, lateData);
        }
        return file;
    }

    private static void write(FileChannel channel, long at, byte[] bytes) throws IOException {
        for (ByteBuffer buffer = ByteBuffer.wrap(bytes); buffer.hasRemaining(); ) {
            channel.write(buffer, at + buffer.position());
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void theDataGoesFromTheFileIntoTheSocketAndZeroBlocksStayHoles(int connections) throws Exception {
        try (MemoryBlockDevice memory = MemoryBlockDevice.create(SIZE);
             ServedDevice server = ServedDevice.serve(dir, memory)) {
            CountingWrites to = copyChecked(memory, server, connections);

            assertThat(to.buffered).hasValue(0);
            assertThat(to.transferred).hasPositiveValue();
            assertThat(memory.extents(8L * MiB, 64 * KiB))
                    .as("the block of written zeroes, never sent").containsExactly(Extent.unallocated(8L * MiB, 64 * KiB));
        }
    }

    /** Over TCP, where sendfile(2) was measured slower, the data is read into memory and written from there. */
    @Test
    void overTcpTheDataIsWrittenFromMemory() throws Exception {
        try (MemoryBlockDevice memory = MemoryBlockDevice.create(SIZE);
             ServedDevice server = ServedDevice.serveOnTcp(memory)) {
            CountingWrites to = copyChecked(memory, server, 1);

            assertThat(to.transferred).hasValue(0);
            assertThat(to.buffered).hasPositiveValue();
        }
    }

    /**
     * Over TCP the connection's reader, once a chunk's writes are answered, reads the chain's next
     * chunk from the file and sends its writes: no write waits for its reply.
     */
    @ParameterizedTest
    @ValueSource(ints = {1, 2})
    void overTcpTheReaderThatFinishedAChunkSendsTheNextAndNoWriteWaits(int connections) throws Exception {
        try (MemoryBlockDevice memory = MemoryBlockDevice.create(SIZE);
             ServedDevice server = ServedDevice.serveOnTcp(memory);
             FileBlockDevice from = FileBlockDevice.open(source(), true);
             CountingExport to = new CountingExport(MultiConnectionDevice.connect(server.uri(), connections, note -> { }))) {
            Copy.Summary summary = Copy.run(from, to, new Copy.Options(Copy.AUTO_REQUESTS, false), new Progress(SIZE, null));

            assertThat(Compare.firstDifference(from, memory)).isEmpty();
            assertThat(summary.dataBytes()).isEqualTo(2L * MiB + 64 * KiB);
            assertThat(to.waited).as("writes and zeroings that waited for their reply").hasValue(0);
            assertThat(to.dataLater).hasPositiveValue();
            assertThat(to.largestWriteLater).as("the largest write, out of a 2 MiB run of data")
                    .hasValue(Copy.FILE_TO_EXPORT_REQUEST_SIZE);
            assertThat(to.senders).as("threads that sent writes").allMatch(name -> name.startsWith("nbd-reader")
                    || name.equals(Thread.currentThread().getName()));
        }
    }

    /**
     * Copies the source into {@code memory}, which {@code server} serves, over {@code connections},
     * checks the content and the data counted, and returns the export as the copy saw it.
     */
    private CountingWrites copyChecked(MemoryBlockDevice memory, ServedDevice server, int connections) throws Exception {
        try (FileBlockDevice from = FileBlockDevice.open(source(), true);
             CountingWrites to = new CountingWrites(MultiConnectionDevice.connect(server.uri(), connections, note -> { }))) {
            Copy.Summary summary = Copy.run(from, to, new Copy.Options(Copy.AUTO_REQUESTS, true), new Progress(SIZE, null));

            assertThat(Compare.firstDifference(from, memory)).isEmpty();
            assertThat(summary.dataBytes()).isEqualTo(2L * MiB + 64 * KiB);
            return to;
        }
    }

    /** The export as the copy sees it, counting which way data was written. */
    private static final class CountingWrites extends ForwardingBlockDevice implements TransferredWrites {
        final AtomicInteger buffered = new AtomicInteger();
        final AtomicInteger transferred = new AtomicInteger();
        private final TransferredWrites export;

        CountingWrites(BlockDevice export) {
            super(export);
            this.export = (TransferredWrites) export;
        }

        @Override
        public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
            buffered.incrementAndGet();
            super.write(offset, src, fua);
        }

        @Override
        public boolean prefersTransfers() {
            return export.prefersTransfers();
        }

        @Override
        public void writeFrom(long offset, long length, Source source, boolean fua) throws IOException {
            transferred.incrementAndGet();
            export.writeFrom(offset, length, source, fua);
        }
    }
}
