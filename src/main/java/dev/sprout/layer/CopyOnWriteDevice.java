package dev.sprout.layer;

import dev.sprout.backend.FileBlockDevice;
import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockSizes;
import dev.sprout.block.Capabilities;
import dev.sprout.block.Extent;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.block.ZeroFlags;
import dev.sprout.layer.OverlayMap.State;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * A copy-on-write overlay: writes, zeroes and trims land in a store of the same size and the
 * device below is only ever read. Reads and extents merge the two block by block: a block the
 * overlay holds comes from the store, a zeroed one reads zeroes, the rest comes from below.
 *
 * <p>The store is memory, or a sparse file in {@code tmp=DIR} unlinked as soon as it is open, so
 * it vanishes with the process however that ends. Either way the overlay is volatile by design:
 * flush has nothing to make durable. A write covering a block in part first copies the lower
 * block up; changes lock the block they touch, reads take no lock (the map changes only after the
 * store holds the block's new bytes).
 */
public final class CopyOnWriteDevice extends ForwardingBlockDevice {

    static final int DEFAULT_BLOCK = 64 << 10;
    private static final int MAX_EXTENTS = 1024;

    /** Holds the blocks the overlay owns; zero wherever the map says otherwise. */
    private final BlockDevice store;
    private final OverlayMap map;
    private final Capabilities capabilities;

    /** An overlay over {@code in} kept in {@code store}, which must be as large and read as zeroes at first. */
    CopyOnWriteDevice(BlockDevice in, BlockDevice store, int blockSize) {
        super(in);
        this.store = store;
        this.map = new OverlayMap(in.size(), blockSize);
        Capabilities lower = in.capabilities();
        BlockSizes sizes = lower.blockSizes();
        BlockSizes merged = blockSize <= sizes.maximum() && blockSize >= sizes.minimum()
                ? new BlockSizes(sizes.minimum(), Math.max(sizes.preferred(), blockSize), sizes.maximum()) : sizes;
        this.capabilities = new Capabilities(true, false, false, true, true, true, lower.cache(), true, true, merged);
    }

    /** {@code cow:block=SIZE,tmp=DIR}, or {@code cow:overlay=FILE.qcow2} for a persistent overlay. */
    static BlockDevice create(BlockDevice in, LayerParameters p) throws IOException {
        p.accept("block", "tmp", "overlay");
        if (p.has("overlay")) {
            if (p.has("block") || p.has("tmp")) {
                throw new IllegalArgumentException("layer 'cow': overlay= keeps the overlay in a qcow2 image; block= and tmp= do not apply to it");
            }
            return PersistentOverlay.open(in, p.path("overlay").orElseThrow());
        }
        long block = p.size("block").orElse((long) DEFAULT_BLOCK);
        if (Long.bitCount(block) != 1 || block < 512 || block > 1 << 20) {
            throw new IllegalArgumentException("layer 'cow': invalid block='" + p.string("block").orElseThrow()
                    + "'; expected a power of two from 512 to 1M");
        }
        Path dir = p.path("tmp").orElse(null);
        BlockDevice store = dir == null ? MemoryBlockDevice.create(in.size()) : temporaryFile(dir, in.size());
        return new CopyOnWriteDevice(in, store, (int) block);
    }

    private static BlockDevice temporaryFile(Path dir, long size) throws IOException {
        Path file;
        try {
            file = Files.createTempFile(dir, "sprout-cow-", ".overlay");
        } catch (IOException e) {
            throw new IllegalArgumentException("layer 'cow': cannot create the overlay file in tmp=" + dir + ": " + e, e);
        }
        try {
            return FileBlockDevice.open(file, false, OptionalLong.of(size));
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Override
    public Capabilities capabilities() {
        return capabilities;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        long end = offset + dst.remaining();
        for (long at = offset; at < end; ) {
            State state = map.get(map.block(at));
            int n = (int) (map.runEnd(at, end, state) - at);
            (state == State.LOWER ? in : store).read(at, dst.slice(dst.position(), n));
            dst.position(dst.position() + n);
            at += n;
        }
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        for (long at = offset; src.hasRemaining(); ) {
            long block = map.block(at);
            int n = (int) Math.min(src.remaining(), map.end(block) - at);
            synchronized (map.lock(block)) {
                if (!map.covers(at, n)) {
                    copyUp(block);
                }
                store.write(at, src.slice(src.position(), n), false);
                map.set(block, State.DATA);
            }
            src.position(src.position() + n);
            at += n;
        }
    }

    /** Nothing to do: the overlay lives and dies with the process. */
    @Override
    public void flush() {
    }

    /** Trims whole blocks; the part of a block the overlay does not hold yet keeps its lower bytes. */
    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        clear(offset, length, true);
    }

    @Override
    public void zero(long offset, long length, ZeroFlags flags) throws IOException {
        clear(offset, length, false);
    }

    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        long end = offset + length;
        List<Extent> extents = new ArrayList<>();
        for (long at = offset; at < end && extents.size() < MAX_EXTENTS; at = extents.getLast().end()) {
            State state = map.get(map.block(at));
            long runEnd = map.runEnd(at, end, state);
            List<Extent> run = switch (state) {
                case LOWER -> in.extents(at, runEnd - at);
                case DATA -> List.of(Extent.data(at, runEnd - at));
                case ZERO -> List.of(Extent.zeroes(at, runEnd - at));
            };
            for (Extent next : run) {
                if (!extents.isEmpty() && extents.getLast().joinsWith(next)) {
                    Extent last = extents.removeLast();
                    next = last.withRange(last.offset(), last.length() + next.length());
                }
                extents.add(next);
            }
        }
        return extents;
    }

    /** Non-blocking only when both the device below and the store are. */
    @Override
    public boolean nonBlocking() {
        return in.nonBlocking() && store.nonBlocking();
    }

    /** Latency-bound when either the device below or the store is. */
    @Override
    public boolean latencyBound() {
        return in.latencyBound() || store.latencyBound();
    }

    @Override
    public void close() throws IOException {
        try (in) {
            store.close();
        }
    }

    /** Zeroes the range; with {@code trim}, blocks still below and covered in part are left alone. */
    private void clear(long offset, long length, boolean trim) throws IOException {
        long end = offset + length;
        for (long at = offset; at < end; ) {
            long block = map.block(at);
            long n = Math.min(end, map.end(block)) - at;
            synchronized (map.lock(block)) {
                State state = map.get(block);
                if (map.covers(at, n)) {
                    if (state == State.DATA) {
                        store.zero(at, n, ZeroFlags.PUNCH);
                    }
                    map.set(block, State.ZERO);
                } else if (state == State.DATA || state == State.LOWER && !trim) {
                    copyUp(block);
                    store.zero(at, n, ZeroFlags.PUNCH);
                }
            }
            at += n;
        }
    }

    /** Copies a block the overlay does not hold yet into the store; called under the block's lock. */
    private void copyUp(long block) throws IOException {
        if (map.get(block) != State.LOWER) {
            return;
        }
        long start = map.start(block);
        ByteBuffer content = ByteBuffer.allocate((int) (map.end(block) - start));
        in.read(start, content);
        store.write(start, content.flip(), false);
        map.set(block, State.DATA);
    }
}
