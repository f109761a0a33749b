package dev.sprout.server;

import dev.sprout.nbd.Request;
import dev.sprout.nbd.TransmissionReplies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A structured READ reply that sends runs of zeroes as OFFSET_HOLE chunks instead of bytes
 * (proto.md: "Structured reply types"). The device sees exactly the client's read — layers that
 * count, delay or fail reads see it whole — and the zero runs are found in the data read, so
 * the reply never depends on what a device claims about its allocation.
 */
final class SparseRead {

    /** Reads shorter than this go as one data chunk: there is little to win. */
    static final long MIN_LENGTH = 32 * 1024;
    /** The unit of zero detection; zero runs shorter than this are sent as data. */
    private static final int BLOCK = 4096;
    /** Bound on hole chunks per reply, so a pathological pattern cannot inflate it. */
    private static final int MAX_HOLES = 64;
    private static final MemorySegment ZEROES = MemorySegment.ofArray(new byte[BLOCK]);

    private SparseRead() {
    }

    /** The reply to {@code r}, whose bytes {@code data} holds from its position 0. */
    static ByteBuffer[] chunks(Request.Read r, ByteBuffer data) {
        MemorySegment bytes = MemorySegment.ofBuffer(data);
        int length = (int) r.length();
        List<ByteBuffer> out = new ArrayList<>();
        int dataStart = 0;
        int holes = 0;
        int at = 0;
        while (at < length && holes < MAX_HOLES) {
            int zeroEnd = zeroRunEnd(bytes, at, length);
            if (zeroEnd - at >= BLOCK) {
                addData(out, r, data, dataStart, at, false);
                ByteBuffer hole = ByteBuffer.allocate(TransmissionReplies.CHUNK_HEADER_SIZE + 12);
                TransmissionReplies.offsetHole(hole, false, r.cookie(), r.offset() + at, zeroEnd - at);
                out.add(hole.flip());
                holes++;
                dataStart = zeroEnd;
                at = zeroEnd;
            } else {
                at = Math.min(length, at + BLOCK);
            }
        }
        if (dataStart < length) {
            addData(out, r, data, dataStart, length, true);
        } else {
            ByteBuffer none = ByteBuffer.allocate(TransmissionReplies.CHUNK_HEADER_SIZE);
            TransmissionReplies.none(none, r.cookie());
            out.add(none.flip());
        }
        return out.toArray(ByteBuffer[]::new);
    }

    /** The end of the run of all-zero blocks starting at {@code from} (== from when none). */
    private static int zeroRunEnd(MemorySegment bytes, int from, int length) {
        int at = from;
        while (at < length) {
            int n = Math.min(BLOCK, length - at);
            if (MemorySegment.mismatch(bytes, at, at + n, ZEROES, 0, n) >= 0) {
                break;
            }
            at += n;
        }
        return at;
    }

    /** An OFFSET_DATA chunk for bytes {@code [from, to)} of the read. */
    private static void addData(List<ByteBuffer> out, Request.Read r, ByteBuffer data, int from, int to, boolean done) {
        if (to <= from) {
            return;
        }
        ByteBuffer header = ByteBuffer.allocate(TransmissionReplies.CHUNK_HEADER_SIZE + 8);
        TransmissionReplies.offsetDataHeader(header, done, r.cookie(), r.offset() + from, to - from);
        out.add(header.flip());
        out.add(data.slice(from, to - from));
    }
}
