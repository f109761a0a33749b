package dev.sprout.client;

import dev.sprout.block.AsynchronousReads;
import dev.sprout.block.AsynchronousWrites;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockSizes;
import dev.sprout.block.Capabilities;
import dev.sprout.block.Completion;
import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import dev.sprout.block.Extent;
import dev.sprout.block.RequestException;
import dev.sprout.block.TransferredWrites;
import dev.sprout.block.ZeroFlags;
import dev.sprout.nbd.CommandFlag;
import dev.sprout.nbd.CommandType;
import dev.sprout.nbd.TransmissionFlag;
import dev.sprout.os.KernelPipe;
import dev.sprout.os.SocketDescriptor;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * An NBD export as a {@link BlockDevice}: one connection, requests pipelined from any number of
 * threads. Large reads and writes are split at the server's maximum payload and sent together;
 * what the export cannot do is done the way the contract allows (no trim: ignored; no
 * WRITE_ZEROES: zeroes written; no base:allocation: everything is data). Reads can also finish on
 * the connection's reader thread ({@link AsynchronousReads}), and so can writes and zeroings
 * ({@link AsynchronousWrites}); writes can also take their payload straight from a file
 * ({@link TransferredWrites}), and both can pass it through a kernel pipe ({@link SplicedTransfers}).
 */
public final class NbdBlockDevice implements BlockDevice, AsynchronousReads, AsynchronousWrites, TransferredWrites,
        SplicedTransfers {

    private static final ByteBuffer ZEROES = ByteBuffer.allocate(1 << 20).asReadOnlyBuffer();

    private final NbdUri uri;
    private final ExportInfo info;
    private final Transmission transmission;
    /** Largest READ/WRITE payload sent. */
    private final int maxPayload;
    /** Largest length of the commands without payload, a multiple of the minimum block size. */
    private final long maxCommand;

    private NbdBlockDevice(NbdUri uri, ExportInfo info, Transmission transmission) {
        this.uri = uri;
        this.info = info;
        this.transmission = transmission;
        int minimum = Math.max(1, info.minimumBlock());
        long maximum = Math.min(info.maximumBlock(), 32L << 20);
        this.maxPayload = (int) Math.max(minimum, maximum / minimum * minimum);
        this.maxCommand = 0xFFFF_FFFFL / Math.max(minimum, 4096) * Math.max(minimum, 4096);
    }

    /** Connects to the export a URI names ({@code nbd://...} or {@code nbd+unix://...}). */
    public static NbdBlockDevice connect(String uri) throws IOException {
        return connect(NbdUri.parse(uri), false);
    }

    public static NbdBlockDevice connect(NbdUri uri) throws IOException {
        return connect(uri, false);
    }

    /**
     * Connects as {@link #connect(String)}, first asking the server for every metadata context it
     * offers ({@link ExportInfo#offeredContexts()}), as {@code nbdinfo} does.
     */
    public static NbdBlockDevice connectListingContexts(String uri) throws IOException {
        return connect(NbdUri.parse(uri), true);
    }

    private static NbdBlockDevice connect(NbdUri uri, boolean listContexts) throws IOException {
        return connect(uri, listContexts, HandshakeDeadline.LIMIT);
    }

    /** Connects within {@code limit} (see {@link HandshakeDeadline}), or fails saying so. */
    static NbdBlockDevice connect(NbdUri uri, boolean listContexts, Duration limit) throws IOException {
        try (HandshakeDeadline deadline = HandshakeDeadline.start(limit)) {
            SocketWire wire;
            try {
                wire = SocketWire.connect(uri, deadline);
            } catch (IOException e) {
                throw new DeviceException(Errno.EIO, "cannot connect to " + uri + ": " + deadline.reason(e), e);
            }
            try {
                ExportInfo info = Handshake.run(wire, uri.export(), listContexts);
                if (!deadline.finish()) {
                    throw new IOException("the deadline passed as the handshake ended");
                }
                return new NbdBlockDevice(uri, info, new Transmission(wire, info));
            } catch (IOException | RuntimeException e) {
                wire.close();
                throw new DeviceException(Errno.EIO, "handshake with " + uri + " failed: " + deadline.reason(e), e);
            }
        }
    }

    /** What the handshake learned: flags, block sizes, contexts. */
    public ExportInfo info() {
        return info;
    }

    @Override
    public long size() {
        return info.size();
    }

    /** Every request waits for the server's reply. */
    @Override
    public boolean latencyBound() {
        return true;
    }

    @Override
    public Capabilities capabilities() {
        return new Capabilities(!has(TransmissionFlag.READ_ONLY), has(TransmissionFlag.SEND_FLUSH),
                has(TransmissionFlag.SEND_FUA), has(TransmissionFlag.SEND_TRIM),
                has(TransmissionFlag.SEND_WRITE_ZEROES), has(TransmissionFlag.SEND_FAST_ZERO),
                has(TransmissionFlag.SEND_CACHE), has(TransmissionFlag.CAN_MULTI_CONN),
                info.allocationContext() >= 0, blockSizes());
    }

    private BlockSizes blockSizes() {
        try {
            return new BlockSizes(Math.max(1, info.minimumBlock()),
                    Math.max(info.preferredBlock(), Math.max(1, info.minimumBlock())), maxPayload);
        } catch (IllegalArgumentException e) {
            return BlockSizes.DEFAULT;
        }
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        List<PendingReply> replies = new ArrayList<>();
        for (Part part : parts(offset, dst)) {
            replies.add(transmission.send(CommandType.READ, 0, part.offset(), part.length(), null, part.bytes()));
        }
        awaitAll(replies);
        dst.position(dst.limit());
    }

    /** Sends the READs (split at the maximum payload) and returns; {@code then} runs once all are in. */
    @Override
    public void readLater(long offset, ByteBuffer dst, Completion then) {
        inPartsLater(CommandType.READ, offset, dst, then);
    }

    /** A READ into {@code buffer} or a WRITE from it, sent in parts; {@code then} runs once all are done. */
    private void inPartsLater(CommandType type, long offset, ByteBuffer buffer, Completion then) {
        List<Part> parts = parts(offset, buffer);
        if (parts.isEmpty()) {
            then.done(null);
            return;
        }
        Completion each = parts.size() == 1 ? then : new AllParts(parts.size(), then);
        for (Part part : parts) {
            if (type == CommandType.WRITE) {
                transmission.sendLater(type, 0, part.offset(), part.length(), part.bytes(), null, each);
            } else {
                transmission.sendLater(type, 0, part.offset(), part.length(), null, part.bytes(), each);
            }
        }
    }

    /** Sends the WRITEs (split at the maximum payload) and returns; {@code then} runs once all are done. */
    @Override
    public void writeLater(long offset, ByteBuffer src, Completion then) {
        if (refusedAsReadOnly("write", then)) {
            return;
        }
        inPartsLater(CommandType.WRITE, offset, src, then);
    }

    @Override
    public boolean canSplice() {
        return transmission.descriptor().isPresent();
    }

    @Override
    public void readSpliced(SplicedChunk chunk, Completion then) {
        if (chunk.length() > maxPayload || !canSplice()) {
            then.done(new RequestException(Errno.EINVAL, "cannot splice a READ of " + chunk.length() + " bytes from " + this));
            return;
        }
        transmission.readLater(chunk, then);
    }

    @Override
    public void writeSpliced(long offset, int length, KernelPipe pipe, Completion then) {
        if (refusedAsReadOnly("write", then)) {
            return;
        }
        Optional<SocketDescriptor> socket = transmission.descriptor();
        if (socket.isEmpty()) {
            then.done(new RequestException(Errno.EINVAL, "cannot splice WRITEs to " + this));
            return;
        }
        int parts = (length + maxPayload - 1) / maxPayload;
        Completion each = parts == 1 ? then : new AllParts(parts, then);
        for (int done = 0; done < length; done += maxPayload) {
            transmission.sendWriteInOrder(0, offset + done, Math.min(maxPayload, length - done),
                    (at, count, channel) -> pipe.drainTo(socket.get(), count), each);
        }
    }

    /**
     * As {@link #zero} with {@link ZeroFlags#PUNCH}: WRITE_ZEROES split at 32-bit lengths, or
     * without it zeroes written. The pieces go out one after another, each once the one before is
     * done, so that a huge range never has more than one request in flight.
     */
    @Override
    public void zeroLater(long offset, long length, Completion then) {
        if (refusedAsReadOnly("zero", then)) {
            return;
        }
        boolean command = has(TransmissionFlag.SEND_WRITE_ZEROES);
        long piece = command ? maxCommand : Math.min(ZEROES.capacity(), maxPayload);
        new OneByOne(offset, offset + length, piece, then, (at, n, done) -> {
            if (command) {
                transmission.sendLater(CommandType.WRITE_ZEROES, 0, at, n, null, null, done);
            } else {
                transmission.sendLater(CommandType.WRITE, 0, at, n, ZEROES.duplicate().limit((int) n), null, done);
            }
        }).done(null);
    }

    /** For a request that finishes later: on a read-only export, tells {@code then} so and returns true. */
    private boolean refusedAsReadOnly(String operation, Completion then) {
        if (!has(TransmissionFlag.READ_ONLY)) {
            return false;
        }
        then.done(RequestException.readOnly(operation, this));
        return true;
    }

    /** Sends the pieces of a range one at a time, the next from the completion of the one before. */
    private static final class OneByOne implements Completion {
        @FunctionalInterface
        interface Sender {
            void send(long offset, long length, Completion done);
        }

        private final long end;
        private final long piece;
        private final Completion then;
        private final Sender sender;
        private long at;

        OneByOne(long offset, long end, long piece, Completion then, Sender sender) {
            this.at = offset;
            this.end = end;
            this.piece = piece;
            this.then = then;
            this.sender = sender;
        }

        /**
         * The piece before is done (null: none yet): sends the next, or tells {@code then} after a
         * failure or the last.
         */
        @Override
        public void done(IOException failure) {
            if (failure != null || at >= end) {
                then.done(failure);
                return;
            }
            long n = Math.min(piece, end - at);
            long from = at;
            at += n;
            sender.send(from, n, this);
        }
    }

    /** A piece of a request's buffer that one command carries, and where on the export it goes. */
    private record Part(long offset, ByteBuffer bytes) {
        int length() {
            return bytes.remaining();
        }
    }

    /** {@code buffer}'s remaining bytes cut at the maximum payload, from {@code offset} on. */
    private List<Part> parts(long offset, ByteBuffer buffer) {
        int length = buffer.remaining();
        List<Part> parts = new ArrayList<>((int) ((length + (long) maxPayload - 1) / maxPayload));
        for (int done = 0; done < length; done += maxPayload) {
            parts.add(new Part(offset + done, buffer.slice(buffer.position() + done, Math.min(maxPayload, length - done))));
        }
        return parts;
    }

    /** Completes a read sent in parts once the last part is done, with the first failure. */
    private static final class AllParts implements Completion {
        private final AtomicInteger left;
        private final AtomicReference<IOException> failure = new AtomicReference<>();
        private final Completion then;

        AllParts(int parts, Completion then) {
            this.left = new AtomicInteger(parts);
            this.then = then;
        }

        @Override
        public void done(IOException partFailure) {
            if (partFailure != null) {
                failure.compareAndSet(null, partFailure);
            }
            if (left.decrementAndGet() == 0) {
                then.done(failure.get());
            }
        }
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        ensureWritable("write");
        List<PendingReply> replies = new ArrayList<>();
        for (Part part : parts(offset, src)) {
            replies.add(transmission.send(CommandType.WRITE, fuaBit(fua), part.offset(), part.length(), part.bytes(), null));
        }
        finishWrite(replies, fua);
        src.position(src.limit());
    }

    /**
     * Over a Unix socket. Copying 2 GiB of data from a file into an nbdkit memory export on 2
     * cores took 0.57 s from memory and 0.46 s transferred (sendfile(2)); over TCP on the loopback
     * 0.69 s from memory and 0.84 s transferred (nbdcopy 0.56 s over either), also with Nagle's
     * algorithm on to join each request's header to its payload.
     */
    @Override
    public boolean prefersTransfers() {
        return prefersTransfers(uri);
    }

    /**
     * Whether a client of {@code uri} would {@linkplain #prefersTransfers() prefer transfers}, for
     * choices made before connecting (the copy's connection count) to agree with those made after.
     */
    public static boolean prefersTransfers(NbdUri uri) {
        return uri.address() instanceof UnixDomainSocketAddress;
    }

    /** As {@link #write(long, ByteBuffer, boolean)}, each WRITE's payload put into the socket by {@code source}. */
    @Override
    public void writeFrom(long offset, long length, Source source, boolean fua) throws IOException {
        ensureWritable("write");
        List<PendingReply> replies = new ArrayList<>();
        for (long done = 0; done < length; done += maxPayload) {
            replies.add(transmission.sendWrite(fuaBit(fua), offset + done, Math.min(maxPayload, length - done), source));
        }
        finishWrite(replies, fua);
    }

    private int fuaBit(boolean fua) {
        return fua && has(TransmissionFlag.SEND_FUA) ? CommandFlag.FUA.bit() : 0;
    }

    /** Waits for a write's replies; FUA asked of a server without it is a flush after them. */
    private void finishWrite(List<PendingReply> replies, boolean fua) throws IOException {
        awaitAll(replies);
        if (fua && !has(TransmissionFlag.SEND_FUA)) {
            flush();
        }
    }

    @Override
    public void flush() throws IOException {
        if (has(TransmissionFlag.SEND_FLUSH)) {
            transmission.send(CommandType.FLUSH, 0, 0, 0, null, null).await();
        }
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        ensureWritable("trim");
        if (has(TransmissionFlag.SEND_TRIM)) {
            ranged(CommandType.TRIM, fuaBit(fua), offset, length);
        }
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws IOException {
        ensureWritable("zero");
        if (!has(TransmissionFlag.SEND_WRITE_ZEROES) || (flags.fast() && !has(TransmissionFlag.SEND_FAST_ZERO))) {
            if (flags.fast()) {
                throw RequestException.notFast(this);
            }
            writeZeroes(offset, length, flags.fua());
            return;
        }
        int bits = (flags.noHole() ? CommandFlag.NO_HOLE.bit() : 0) | (flags.fast() ? CommandFlag.FAST_ZERO.bit() : 0)
                | fuaBit(flags.fua());
        ranged(CommandType.WRITE_ZEROES, bits, offset, length);
    }

    @Override
    public void cache(long offset, long length) throws IOException {
        if (has(TransmissionFlag.SEND_CACHE)) {
            ranged(CommandType.CACHE, 0, offset, length);
        }
    }

    /** base:allocation as the server reports it (proto.md: "base:allocation metadata context"). */
    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        if (info.allocationContext() < 0) {
            return List.of(Extent.data(offset, length));
        }
        long asked = Math.min(length, maxCommand);
        PendingReply reply = transmission.send(CommandType.BLOCK_STATUS, 0, offset, asked, null, null);
        reply.await();
        List<Extent> extents = new ArrayList<>();
        long at = offset;
        long end = offset + length;
        for (long[] descriptor : reply.descriptors) {
            if (at >= end) {
                break;
            }
            long n = Math.min(descriptor[0], end - at);
            int status = (int) descriptor[1];
            Extent next = new Extent(at, n, (status & 1) != 0, (status & 2) != 0);
            if (!extents.isEmpty() && extents.getLast().joinsWith(next)) {
                Extent last = extents.removeLast();
                next = last.withRange(last.offset(), last.length() + n);
            }
            extents.add(next);
            at += n;
        }
        if (extents.isEmpty()) {
            throw new DeviceException(Errno.EIO, "BLOCK_STATUS " + offset + "+" + asked + " on " + uri
                    + ": no base:allocation descriptors in the reply");
        }
        return extents;
    }

    @Override
    public void close() throws IOException {
        transmission.close();
    }

    @Override
    public String toString() {
        return "Nbd(" + uri + ")";
    }

    private boolean has(TransmissionFlag flag) {
        return info.has(flag);
    }

    private void ensureWritable(String operation) throws RequestException {
        if (has(TransmissionFlag.READ_ONLY)) {
            throw RequestException.readOnly(operation, this);
        }
    }

    /** A command without payload over a range, split at 32-bit lengths and sent together. */
    private void ranged(CommandType type, int flags, long offset, long length) throws IOException {
        List<PendingReply> replies = new ArrayList<>();
        for (long done = 0; done < length; done += maxCommand) {
            replies.add(transmission.send(type, flags, offset + done, Math.min(maxCommand, length - done), null, null));
        }
        awaitAll(replies);
    }

    private void writeZeroes(long offset, long length, boolean fua) throws IOException {
        for (long done = 0; done < length; ) {
            int n = (int) Math.min(Math.min(ZEROES.capacity(), maxPayload), length - done);
            write(offset + done, ZEROES.duplicate().limit(n), false);
            done += n;
        }
        if (fua) {
            flush();
        }
    }

    private static void awaitAll(List<PendingReply> replies) throws IOException {
        IOException first = null;
        for (PendingReply reply : replies) {
            try {
                reply.await();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
