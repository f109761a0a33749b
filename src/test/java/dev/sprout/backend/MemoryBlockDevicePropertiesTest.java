package dev.sprout.backend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.block.Extent;
import dev.sprout.block.WriteLease;
import dev.sprout.block.ZeroFlags;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * Random sequences of writes, zeroes and trims on a memory device, checked against byte arrays:
 * content, extents (exactly the pages holding non-zero bytes) and allocated memory.
 */
class MemoryBlockDevicePropertiesTest {

    private static final int PAGE = MemoryBlockDevice.PAGE_SIZE;
    private static final long LAST_PAGE = (Long.MAX_VALUE - 1) & -PAGE;

    /** A small device seen whole. */
    private static final List<Window> SMALL = List.of(new Window(0, 1 << 20));
    /** The largest device seen through page-aligned windows at its start, middle and very end. */
    private static final List<Window> HUGE = List.of(new Window(0, 4 * PAGE), new Window(1L << 62, 4 * PAGE),
            new Window(LAST_PAGE - 3L * PAGE, (int) (Long.MAX_VALUE - LAST_PAGE) + 3 * PAGE));

    @Property(tries = 300)
    void smallDeviceMatchesAByteArray(@ForAll("smallOps") List<Op> ops) throws IOException {
        check(1 << 20, SMALL, ops);
    }

    @Property(tries = 300)
    void largestDeviceMatchesAMapOfByteArrays(@ForAll("hugeOps") List<Op> ops) throws IOException {
        check(Long.MAX_VALUE, HUGE, ops);
    }

    @Provide
    Arbitrary<List<Op>> smallOps() {
        return ops(SMALL);
    }

    @Provide
    Arbitrary<List<Op>> hugeOps() {
        return ops(HUGE);
    }

    private static void check(long size, List<Window> windows, List<Op> ops) throws IOException {
        List<byte[]> model = windows.stream().map(w -> new byte[w.pages() * PAGE]).toList();
        try (MemoryBlockDevice device = MemoryBlockDevice.create(size)) {
            for (Op op : ops) {
                apply(device, windows, model, op);
                assertThat(device.allocatedBytes()).as("allocated after %s", op).isEqualTo(allocated(model));
            }
            for (int w = 0; w < windows.size(); w++) {
                Window window = windows.get(w);
                ByteBuffer content = ByteBuffer.allocateDirect(window.length());
                device.read(window.base(), content);
                byte[] read = new byte[window.length()];
                content.flip().get(read);
                assertThat(read).as("content of %s", window).isEqualTo(Arrays.copyOf(model.get(w), window.length()));
                assertThat(device.extents(window.base(), window.length()))
                        .isEqualTo(expectedExtents(window, model.get(w), 0, window.length()));
            }
            for (Op op : ops) {
                Window window = windows.get(op.window());
                assertThat(device.extents(window.base() + op.start(), op.length(window))).as("extents over %s", op)
                        .isEqualTo(expectedExtents(window, model.get(op.window()), op.start(), op.length(window)));
            }
        }
    }

    private static void apply(MemoryBlockDevice device, List<Window> windows, List<byte[]> model, Op op)
            throws IOException {
        Window window = windows.get(op.window());
        long offset = window.base() + op.start();
        int length = op.length(window);
        byte[] data = switch (op.kind()) {
            case WRITE_RANDOM, WRITE_ZEROES, WRITE_SPARSE, WRITE_LEASED -> op.data(length);
            case ZERO, ZERO_NO_HOLE_FAST, TRIM -> new byte[length];
        };
        switch (op.kind()) {
            case WRITE_RANDOM, WRITE_ZEROES, WRITE_SPARSE -> device.write(offset, ByteBuffer.wrap(data), false);
            case WRITE_LEASED -> writeLeased(device, offset, data);
            case ZERO -> device.zero(offset, length, ZeroFlags.PUNCH);
            case ZERO_NO_HOLE_FAST -> device.zero(offset, length, new ZeroFlags(true, true, true));
            case TRIM -> device.trim(offset, length, false);
        }
        System.arraycopy(data, 0, model.get(op.window()), op.start(), length);
    }

    /** Writes through lent pages where the device lends them (whole pages), else as a plain write. */
    private static void writeLeased(MemoryBlockDevice device, long offset, byte[] data) throws IOException {
        WriteLease lease = device.leaseWrite(offset, data.length);
        if (lease == null) {
            assertThat(offset % PAGE != 0 || data.length % PAGE != 0).as("lease refused at %d+%d", offset, data.length)
                    .isTrue();
            device.write(offset, ByteBuffer.wrap(data), false);
            return;
        }
        ByteBuffer payload = ByteBuffer.wrap(data);
        for (ByteBuffer buffer : lease.buffers()) {
            buffer.put(payload.slice(payload.position(), buffer.remaining()));
            payload.position(payload.position() + buffer.capacity());
        }
        lease.commit(false);
    }

    /** The extents a model implies: each page with a non-zero byte is data, the rest holes, merged. */
    private static List<Extent> expectedExtents(Window window, byte[] model, int start, int length) {
        List<Extent> extents = new ArrayList<>();
        for (int page = start / PAGE; page <= (start + length - 1) / PAGE; page++) {
            int from = Math.max(start, page * PAGE);
            int to = Math.min(start + length, (page + 1) * PAGE);
            Extent next = nonZero(model, page)
                    ? Extent.data(window.base() + from, to - from)
                    : Extent.unallocated(window.base() + from, to - from);
            if (!extents.isEmpty() && extents.getLast().joinsWith(next)) {
                Extent last = extents.removeLast();
                next = last.withRange(last.offset(), last.length() + next.length());
            }
            extents.add(next);
        }
        return extents;
    }

    private static long allocated(List<byte[]> model) {
        long pages = 0;
        for (byte[] bytes : model) {
            for (int page = 0; page < bytes.length / PAGE; page++) {
                pages += nonZero(bytes, page) ? 1 : 0;
            }
        }
        return pages * PAGE;
    }

    private static boolean nonZero(byte[] model, int page) {
        return Arrays.mismatch(model, page * PAGE, (page + 1) * PAGE, new byte[PAGE], 0, PAGE) >= 0;
    }

    private static Arbitrary<List<Op>> ops(List<Window> windows) {
        Arbitrary<Op> op = Arbitraries.integers().between(0, windows.size() - 1).flatMap(w -> {
            int span = windows.get(w).length();
            Arbitrary<Integer> start = Arbitraries.oneOf(
                    Arbitraries.integers().between(0, span - 1),
                    Combinators.combine(Arbitraries.integers().between(0, span / PAGE),
                            Arbitraries.integers().between(-3, 3))
                            .as((page, delta) -> Math.clamp((long) page * PAGE + delta, 0, span - 1)));
            Arbitrary<Integer> length = Arbitraries.oneOf(
                    Arbitraries.integers().between(1, 16),
                    Arbitraries.integers().between(1, 3 * PAGE),
                    Arbitraries.of(PAGE, 2 * PAGE, PAGE - 1, PAGE + 1));
            return Combinators.combine(Arbitraries.of(Kind.class), start, length, Arbitraries.integers())
                    .as((kind, s, l, seed) -> new Op(kind, w, s, l, seed));
        });
        // Writes of whole pages, which the device takes through lent pages.
        Arbitrary<Op> leased = Arbitraries.integers().between(0, windows.size() - 1).flatMap(w -> {
            int pages = windows.get(w).length() / PAGE;
            return Combinators.combine(Arbitraries.integers().between(0, pages - 1),
                            Arbitraries.integers().between(1, pages), Arbitraries.integers())
                    .as((page, count, seed) -> new Op(Kind.WRITE_LEASED, w, page * PAGE,
                            Math.min(count, pages - page) * PAGE, seed));
        });
        return Arbitraries.frequencyOf(Tuple.of(4, op), Tuple.of(1, leased)).list().ofMinSize(1).ofMaxSize(25);
    }

    /** What an operation does. */
    enum Kind { WRITE_RANDOM, WRITE_ZEROES, WRITE_SPARSE, WRITE_LEASED, ZERO, ZERO_NO_HOLE_FAST, TRIM }

    /** A page-aligned part of the device, modelled by a byte array of whole pages. */
    record Window(long base, int length) {
        int pages() {
            return (length + PAGE - 1) / PAGE;
        }
    }

    /** One operation at {@code start} within a window, its length clipped to the window. */
    record Op(Kind kind, int window, int start, int requestedLength, int seed) {
        int length(Window in) {
            return Math.min(requestedLength, in.length() - start);
        }

        /** The data a write of {@code length} bytes carries: random, all zero, or zero but one byte at an edge. */
        byte[] data(int length) {
            byte[] data = new byte[length];
            Random random = new Random(seed);
            switch (kind) {
                case WRITE_RANDOM -> random.nextBytes(data);
                case WRITE_LEASED -> {
                    // Whole pages of random bytes and of zeroes, in a random order.
                    for (int page = 0; page * PAGE < length; page++) {
                        if (random.nextBoolean()) {
                            byte[] bytes = new byte[Math.min(PAGE, length - page * PAGE)];
                            random.nextBytes(bytes);
                            System.arraycopy(bytes, 0, data, page * PAGE, bytes.length);
                        }
                    }
                }
                case WRITE_SPARSE -> {
                    int lastOfFirstPage = Math.min(length, PAGE - start % PAGE) - 1;
                    int[] places = {0, length - 1, lastOfFirstPage, Math.min(length - 1, lastOfFirstPage + 1),
                        random.nextInt(length)};
                    data[places[random.nextInt(places.length)]] = (byte) (1 + random.nextInt(255));
                }
                default -> { }
            }
            return data;
        }
    }
}
