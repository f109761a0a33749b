package dev.sprout.server;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.nbd.Request;
import dev.sprout.nbd.TransmissionReplies;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A structured READ reply that sends holes as OFFSET_HOLE chunks instead of zeroes
 * (proto.md: "Structured reply types"). All data is read before anything is sent, so an error
 * can still be reported as the only chunk.
 */
final class SparseRead {

    /**
     * Reads shorter than this go as one data chunk: asking the device for extents costs more
     * than sending a few KiB of zeroes would.
     */
    static final long MIN_LENGTH = 32 * 1024;
    /** Zero runs shorter than this are sent as data: a chunk header costs more than they do. */
    private static final long MIN_HOLE = 4096;
    /** Bound on chunks per reply; past it the rest goes as one data chunk. */
    private static final int MAX_CHUNKS = 64;

    private SparseRead() {
    }

    /** The reply buffers for {@code r}; {@code data} must hold {@code r.length()} bytes. */
    static ByteBuffer[] chunks(BlockDevice device, Request.Read r, ByteBuffer data) throws IOException {
        List<Extent> runs = ExtentWalk.collect(device, r.offset(), r.length(), MAX_CHUNKS);
        List<ByteBuffer> out = new ArrayList<>();
        long end = r.offset() + r.length();
        long dataStart = r.offset();
        for (Extent run : runs) {
            if (run.zero() && run.length() >= MIN_HOLE) {
                addData(device, r, data, dataStart, run.offset(), out, false);
                ByteBuffer hole = ByteBuffer.allocate(TransmissionReplies.CHUNK_HEADER_SIZE + 12);
                TransmissionReplies.offsetHole(hole, false, r.cookie(), run.offset(), (int) run.length());
                out.add(hole.flip());
                dataStart = run.end();
            }
        }
        addData(device, r, data, dataStart, end, out, true);
        if (dataStart >= end) {
            ByteBuffer none = ByteBuffer.allocate(TransmissionReplies.CHUNK_HEADER_SIZE);
            TransmissionReplies.none(none, r.cookie());
            out.add(none.flip());
        }
        return out.toArray(ByteBuffer[]::new);
    }

    /** Reads {@code [from, to)} into its place in {@code data} and adds an OFFSET_DATA chunk. */
    private static void addData(BlockDevice device, Request.Read r, ByteBuffer data, long from, long to,
                                List<ByteBuffer> out, boolean done) throws IOException {
        if (to <= from) {
            return;
        }
        int start = (int) (from - r.offset());
        int length = (int) (to - from);
        ByteBuffer slice = data.slice(start, length);
        device.read(from, slice);
        ByteBuffer header = ByteBuffer.allocate(TransmissionReplies.CHUNK_HEADER_SIZE + 8);
        TransmissionReplies.offsetDataHeader(header, done, r.cookie(), from, length);
        out.add(header.flip());
        out.add(data.slice(start, length));
    }
}
