package dev.sprout.layer;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.block.ZeroFlags;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * The crash layer's volatile cache: changes acknowledged but not yet written below, as runs that
 * never overlap (a newer change cuts the older ones it covers). Not thread-safe: its device
 * guards it.
 */
final class PendingChanges {

    private static final byte[] ZEROES = new byte[64 << 10];

    /** What a run does to its bytes once written below. */
    enum Kind { DATA, ZERO, PUNCH, TRIM }

    /**
     * One run of acknowledged change.
     *
     * @param data       the bytes of a DATA run, read-only and never changed; null for the others
     * @param generation the write-back that will carry it: runs up to a generation go together
     */
    record Change(long offset, long length, Kind kind, ByteBuffer data, long generation) {

        long end() {
            return offset + length;
        }

        /** The part from {@code from} to {@code to}, sharing the bytes. */
        Change cut(long from, long to) {
            ByteBuffer part = data == null ? null : data.slice((int) (from - offset), (int) (to - from));
            return new Change(from, to - from, kind, part, generation);
        }

        /** Carries the change to {@code device}, not yet durably. */
        void writeTo(BlockDevice device) throws IOException {
            switch (kind) {
                case DATA -> device.write(offset, data.duplicate(), false);
                case ZERO -> device.zero(offset, length, new ZeroFlags(true, false, false));
                case PUNCH -> device.zero(offset, length, ZeroFlags.PUNCH);
                case TRIM -> device.trim(offset, length, false);
            }
        }

    }

    /** A part of a requested range: served by {@code change}, or by the device below when it is null. */
    record Piece(long offset, long length, Change change) {

        /** Copies this cached piece into {@code dst} at {@code at}, leaving its position alone. */
        void copyTo(ByteBuffer dst, int at) {
            if (change.data() == null) {
                for (int done = 0; done < length; done += ZEROES.length) {
                    dst.put(at + done, ZEROES, 0, (int) Math.min(ZEROES.length, length - done));
                }
            } else {
                dst.put(at, change.data(), (int) (offset - change.offset()), (int) length);
            }
        }
    }

    /** The runs by offset. */
    private final NavigableMap<Long, Change> runs = new TreeMap<>();
    /** The bytes the DATA runs hold. */
    private long dataBytes;

    long dataBytes() {
        return dataBytes;
    }

    /** Adds {@code change} over whatever it covers, keeping the uncovered ends of older runs. */
    void put(Change change) {
        Map.Entry<Long, Change> before = runs.lowerEntry(change.offset());
        if (before != null && before.getValue().end() > change.offset()) {
            Change older = remove(before.getKey());
            add(older.cut(older.offset(), change.offset()));
            if (older.end() > change.end()) {
                add(older.cut(change.end(), older.end()));
            }
        }
        for (Long start : List.copyOf(runs.subMap(change.offset(), true, change.end(), false).keySet())) {
            Change older = remove(start);
            if (older.end() > change.end()) {
                add(older.cut(change.end(), older.end()));
            }
        }
        add(change);
    }

    /**
     * Splits {@code [offset, offset+length)} into consecutive pieces, cached or not, starting at
     * {@code offset}; about {@code limit} of them at most, so they may end early.
     */
    List<Piece> pieces(long offset, long length, int limit) {
        List<Piece> pieces = new ArrayList<>();
        long end = offset + length;
        long at = offset;
        Map.Entry<Long, Change> first = runs.floorEntry(offset);
        Long from = first != null && first.getValue().end() > offset ? first.getKey() : Long.valueOf(offset);
        for (Change change : runs.subMap(from, true, end, false).values()) {
            if (pieces.size() >= limit) {
                return pieces;
            }
            if (change.offset() > at) {
                pieces.add(new Piece(at, change.offset() - at, null));
            }
            long stop = Math.min(change.end(), end);
            long start = Math.max(change.offset(), at);
            pieces.add(new Piece(start, stop - start, change));
            at = stop;
        }
        if (at < end) {
            pieces.add(new Piece(at, end - at, null));
        }
        return pieces;
    }

    /**
     * The cached pieces at the head of {@code pieces} as extents, joined where they continue each
     * other: data runs as data, the others as zeroes (a trimmed run reads as zeroes until written back).
     */
    static List<Extent> extents(List<Piece> pieces) {
        List<Extent> extents = new ArrayList<>();
        for (Piece piece : pieces) {
            if (piece.change() == null) {
                break;
            }
            Extent next = piece.change().kind() == Kind.DATA ? Extent.data(piece.offset(), piece.length())
                    : Extent.zeroes(piece.offset(), piece.length());
            if (!extents.isEmpty() && extents.getLast().joinsWith(next)) {
                Extent last = extents.removeLast();
                next = last.withRange(last.offset(), last.length() + next.length());
            }
            extents.add(next);
        }
        return extents;
    }

    /** Every run, in order of offset. */
    List<Change> all() {
        return List.copyOf(runs.values());
    }

    /** Forgets the runs of {@code generation} and before: they have been written back. */
    void removeUpTo(long generation) {
        runs.values().removeIf(change -> {
            if (change.generation() > generation) {
                return false;
            }
            dataBytes -= change.data() == null ? 0 : change.length();
            return true;
        });
    }

    /** Forgets everything, returning how many bytes of data were lost. */
    long clear() {
        long lost = dataBytes;
        runs.clear();
        dataBytes = 0;
        return lost;
    }

    private void add(Change change) {
        runs.put(change.offset(), change);
        dataBytes += change.data() == null ? 0 : change.length();
    }

    private Change remove(long offset) {
        Change change = runs.remove(offset);
        dataBytes -= change.data() == null ? 0 : change.length();
        return change;
    }
}
