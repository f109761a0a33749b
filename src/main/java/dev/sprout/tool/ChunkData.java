package dev.sprout.tool;

import dev.sprout.backend.FileBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.TransferredWrites;
import dev.sprout.block.ZeroDetector;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * One chunk of a copy's source as the copy sees it: whether a piece of it is all zeroes, and how a
 * piece of data goes to the destination. Pieces are given as byte indices within the chunk.
 */
sealed interface ChunkData {

    /** Where the chunk starts on the source, and on the destination. */
    long offset();

    /** Whether bytes {@code from} to {@code to} of the chunk are all zero. */
    boolean isZero(int from, int to) throws IOException;

    /** Writes bytes {@code from} to {@code to} of the chunk to the destination. */
    void write(int from, int to) throws IOException;

    /** A chunk read whole into {@code bytes} (from index 0), written from there. */
    record InMemory(BlockDevice destination, long offset, ByteBuffer bytes) implements ChunkData {
        @Override
        public boolean isZero(int from, int to) {
            return ZeroDetector.isZero(bytes, from, to);
        }

        @Override
        public void write(int from, int to) throws IOException {
            destination.write(offset + from, bytes.slice(from, to - from), false);
        }
    }

    /**
     * A chunk left in the source file: its pieces are probed for zeroes, and the kernel moves the
     * data from the file's page cache into the destination's socket (sendfile(2)), so its bytes
     * never pass through the JVM. Copying 2 GiB of data from a file into an nbdkit memory export
     * on 2 cores took 0.57 s of wall time and 0.67 s of CPU time read into memory and written from
     * there, 0.48 s and 0.54 s transferred (nbdcopy 0.58 s and 0.56 s).
     */
    record InFile(FileBlockDevice source, TransferredWrites destination, long offset, ByteBuffer scratch)
            implements ChunkData {

        /**
         * Bytes read to tell data from zeroes: data has a non-zero byte among its first few, so
         * one small read each rules a piece out; only a piece whose first {@value} bytes are zero
         * is read whole.
         */
        static final int PROBE = 4096;

        @Override
        public boolean isZero(int from, int to) throws IOException {
            int length = to - from;
            ByteBuffer probe = scratch.clear().limit(Math.min(PROBE, length));
            source.read(offset + from, probe.duplicate());
            boolean zeroSoFar = ZeroDetector.isZero(probe, 0, probe.limit());
            if (!zeroSoFar || length <= PROBE) {
                return zeroSoFar;
            }
            ByteBuffer rest = scratch.clear().limit(length - PROBE);
            source.read(offset + from + PROBE, rest.duplicate());
            return ZeroDetector.isZero(rest, 0, rest.limit());
        }

        @Override
        public void write(int from, int to) throws IOException {
            destination.writeFrom(offset + from, to - from, source::transferTo, false);
        }
    }
}
