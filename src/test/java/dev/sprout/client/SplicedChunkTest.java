package dev.sprout.client;

import dev.sprout.os.KernelPipe;
import dev.sprout.os.SocketDescriptor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A spliced chunk fed by a real Unix socket, whose other end the test writes: how a payload is
 * told apart into data and zero runs (peeked at, spliced, or read to be checked), how holes
 * count, and the fallbacks to memory when pieces come out of order or the pipe fills.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SplicedChunkTest {

    private static final int KiB = 1 << 10;
    private static final int MiB = 1 << 20;
    private static final int STEP = SplicedChunk.STEP;
    /** The chunk's place on the export: the runs are relative to it. */
    private static final long OFFSET = 7L * MiB;

    @TempDir
    Path dir;

    private ServerSocketChannel listener;
    private SocketChannel server;
    private SocketWire wire;
    private SocketDescriptor socket;

    @BeforeEach
    void connect() throws IOException {
        listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        Path path = dir.resolve("s");
        listener.bind(UnixDomainSocketAddress.of(path));
        try (HandshakeDeadline deadline = HandshakeDeadline.start(Duration.ofSeconds(10))) {
            wire = SocketWire.connect(NbdUri.parse("nbd+unix:///?socket=" + path), deadline);
            deadline.finish();
        }
        server = listener.accept();
        socket = wire.descriptor().orElseThrow();
    }

    @AfterEach
    void close() throws IOException {
        wire.close();
        server.close();
        listener.close();
    }

    /** Sends {@code bytes} from the server's end on a thread of its own (they may not fit the socket's buffer). */
    private CompletableFuture<Void> send(byte[] bytes) {
        return CompletableFuture.runAsync(() -> {
            try {
                ByteBuffer out = ByteBuffer.wrap(bytes);
                while (out.hasRemaining()) {
                    server.write(out);
                }
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
    }

    private static byte[] random(int n, long seed) {
        byte[] bytes = new byte[n];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    private static SplicedChunk chunk(int pipeBytes, int chunkBytes) throws IOException {
        return new SplicedChunk(KernelPipe.open(pipeBytes), chunkBytes);
    }

    /** Everything the pipe holds. */
    private static byte[] drain(KernelPipe pipe) throws IOException {
        ByteBuffer out = ByteBuffer.allocateDirect(pipe.available());
        pipe.take(out);
        byte[] bytes = new byte[out.flip().remaining()];
        out.get(bytes);
        return bytes;
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] part : parts) {
            n += part.length;
        }
        byte[] all = new byte[n];
        int at = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return all;
    }

    private static byte[] bytesOf(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.duplicate().get(bytes);
        return bytes;
    }

    @Test
    void aPayloadIsSplitIntoDataRunsInThePipeAndWholeStepsOfZeroes() throws Exception {
        // step 0 data; step 1 zeroes; step 2 zeroes for its first 8 KiB, so read and found data;
        // step 3 data for 4 KiB, then zeroes; steps 4 and 5 zeroes; step 6 data; step 7 zeroes, the chunk's last.
        byte[] payload = new byte[8 * STEP];
        System.arraycopy(random(STEP, 1), 0, payload, 0, STEP);
        System.arraycopy(random(STEP - 8 * KiB, 2), 0, payload, 2 * STEP + 8 * KiB, STEP - 8 * KiB);
        System.arraycopy(random(4 * KiB, 3), 0, payload, 3 * STEP, 4 * KiB);
        System.arraycopy(random(STEP, 4), 0, payload, 6 * STEP, STEP);
        try (SplicedChunk chunk = chunk(MiB, MiB)) {
            chunk.reset(OFFSET, payload.length);
            CompletableFuture<Void> sent = send(payload);
            chunk.receive(OFFSET, payload.length, wire, socket);
            sent.get();

            assertThat(chunk.inMemory()).isFalse();
            assertThat(chunk.runs()).containsExactly(
                    new SplicedChunk.Run(0, STEP, false), new SplicedChunk.Run(STEP, 2 * STEP, true),
                    new SplicedChunk.Run(2 * STEP, 4 * STEP, false), new SplicedChunk.Run(4 * STEP, 6 * STEP, true),
                    new SplicedChunk.Run(6 * STEP, 7 * STEP, false), new SplicedChunk.Run(7 * STEP, 8 * STEP, true));
            assertThat(chunk.dataBytes()).isEqualTo(4 * STEP);
            assertThat(chunk.madeMemory()).as("steps whose first bytes are zeroes were read to be checked").isTrue();
            byte[] expected = concat(Arrays.copyOfRange(payload, 0, STEP), Arrays.copyOfRange(payload, 2 * STEP, 4 * STEP),
                    Arrays.copyOfRange(payload, 6 * STEP, 7 * STEP));
            assertThat(Arrays.equals(drain(chunk.pipe()), expected)).as("the data runs, in order, in the pipe").isTrue();
        }
    }

    @Test
    void aChunkOfDataPassesThroughThePipeWithoutMakingMemory() throws Exception {
        byte[] payload = random(4 * STEP, 11);
        try (SplicedChunk chunk = chunk(MiB, MiB)) {
            chunk.reset(OFFSET, payload.length);
            receive(chunk, payload, 0, payload.length);

            assertThat(chunk.runs()).containsExactly(new SplicedChunk.Run(0, 4 * STEP, false));
            assertThat(chunk.madeMemory()).as("memory made for a chunk that never needed it").isFalse();
            assertThat(Arrays.equals(drain(chunk.pipe()), payload)).isTrue();
        }
    }

    @Test
    void holesMakeZeroRunsOfWholeStepsOnlyAndTheirEdgesDataOfZeroes() throws Exception {
        // A reply as a server with OFFSET_HOLE chunks sends it: 8 KiB hole, 56 KiB data, a hole of two
        // whole steps, a 4 KiB hole and 60 KiB data.
        byte[] first = random(STEP - 8 * KiB, 5);
        byte[] last = random(STEP - 4 * KiB, 6);
        try (SplicedChunk chunk = chunk(MiB, MiB)) {
            chunk.reset(OFFSET, 4 * STEP);
            chunk.hole(OFFSET, 8 * KiB);
            CompletableFuture<Void> sent = send(first);
            chunk.receive(OFFSET + 8 * KiB, first.length, wire, socket);
            sent.get();
            chunk.hole(OFFSET + STEP, 2 * STEP);
            chunk.hole(OFFSET + 3 * STEP, 4 * KiB);
            sent = send(last);
            chunk.receive(OFFSET + 3 * STEP + 4 * KiB, last.length, wire, socket);
            sent.get();

            assertThat(chunk.runs()).containsExactly(new SplicedChunk.Run(0, STEP, false),
                    new SplicedChunk.Run(STEP, 3 * STEP, true), new SplicedChunk.Run(3 * STEP, 4 * STEP, false));
            byte[] expected = concat(new byte[8 * KiB], first, new byte[4 * KiB], last);
            assertThat(Arrays.equals(drain(chunk.pipe()), expected)).isTrue();
        }
    }

    @Test
    void piecesOutOfOrderPutTheChunkInMemory() throws Exception {
        byte[] payload = random(4 * STEP, 7);
        try (SplicedChunk chunk = chunk(MiB, MiB)) {
            chunk.reset(OFFSET, payload.length);
            receive(chunk, payload, 0, STEP);
            assertThat(chunk.inMemory()).isFalse();
            assertThat(chunk.pipe().available()).isEqualTo(STEP);
            receive(chunk, payload, 2 * STEP, 4 * STEP); // a structured reply may send its chunks in any order
            assertThat(chunk.inMemory()).isTrue();
            receive(chunk, payload, STEP, 2 * STEP);

            assertThat(Arrays.equals(bytesOf(chunk.memory()), payload)).isTrue();
            assertThat(chunk.pipe().available()).as("what was in the pipe went back into place").isZero();
        }
    }

    /** Sends bytes {@code from} to {@code to} of the payload and has the chunk receive them as such. */
    private void receive(SplicedChunk chunk, byte[] payload, int from, int to) throws Exception {
        CompletableFuture<Void> sent = send(Arrays.copyOfRange(payload, from, to));
        chunk.receive(OFFSET + from, to - from, wire, socket);
        sent.get();
    }

    @Test
    void aPipeThatFillsPutsTheChunkInMemory() throws Exception {
        byte[] payload = random(MiB, 9);
        try (SplicedChunk chunk = chunk(4 * KiB, MiB)) { // one page reference: full after the first splice
            chunk.reset(OFFSET, payload.length);
            CompletableFuture<Void> sent = send(payload);
            chunk.receive(OFFSET, payload.length, wire, socket);
            sent.get();

            assertThat(chunk.inMemory()).isTrue();
            assertThat(Arrays.equals(bytesOf(chunk.memory()), payload)).isTrue();
            assertThat(chunk.pipe().available()).isZero();
        }
    }

    @Test
    void aChunkIsNotStartedOverBytesLeftInThePipe() throws Exception {
        byte[] payload = random(STEP, 10);
        try (SplicedChunk chunk = chunk(MiB, MiB)) {
            chunk.reset(OFFSET, STEP);
            CompletableFuture<Void> sent = send(payload);
            chunk.receive(OFFSET, STEP, wire, socket);
            sent.get();
            assertThatThrownBy(() -> chunk.reset(OFFSET + STEP, STEP))
                    .isInstanceOf(IOException.class).hasMessageContaining("still holds " + STEP + " bytes");
        }
    }
}
