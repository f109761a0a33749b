package dev.sprout.format.qcow2;

import java.util.Arrays;
import java.util.zip.Deflater;

/**
 * The cluster compression types of qcow2.txt ("compression_type", header byte 104), and how sprout
 * compresses one cluster in each. Same input, same bytes: the levels are fixed and nothing else
 * goes into the output.
 */
public enum Qcow2Compression {
    /** Raw deflate (RFC 1951, no zlib header); the default type, header field 0. */
    DEFLATE(0),
    /** Zstandard frames; header field 1, which also sets the compression-type incompatible bit. */
    ZSTD(1);

    /**
     * QEMU inflates with a 4 KiB window (windowBits -12) while the JDK's deflater always uses
     * 32 KiB, so the dictionary is reset every 4 KiB: no match then reaches further back than a
     * 4 KiB reader can follow.
     */
    private static final int DEFLATE_WINDOW = 4096;
    /** zstd's own default level, as QEMU uses. */
    private static final int ZSTD_LEVEL = 3;

    /** The value of the header's compression_type field. */
    final int headerValue;

    Qcow2Compression(int headerValue) {
        this.headerValue = headerValue;
    }

    /** Parses {@code zstd} or {@code deflate}; anything else is a one-line error naming both. */
    public static Qcow2Compression parse(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "zstd" -> ZSTD;
            case "deflate", "zlib" -> DEFLATE;
            default -> throw new IllegalArgumentException("unknown compression '" + name + "': zstd or deflate");
        };
    }

    /**
     * {@code cluster} compressed, or null when that would take {@code cluster.length} bytes or
     * more (the cluster is then stored as it is, as QEMU does).
     */
    byte[] compress(byte[] cluster) {
        byte[] out = switch (this) {
            case DEFLATE -> deflate(cluster);
            case ZSTD -> com.github.luben.zstd.Zstd.compress(cluster, ZSTD_LEVEL);
        };
        return out.length < cluster.length ? out : null;
    }

    private static byte[] deflate(byte[] cluster) {
        Deflater deflater = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
        try {
            byte[] out = new byte[cluster.length + 1024];
            int length = 0;
            for (int at = 0; at < cluster.length; at += DEFLATE_WINDOW) {
                int n = Math.min(DEFLATE_WINDOW, cluster.length - at);
                boolean last = at + n == cluster.length;
                deflater.setInput(cluster, at, n);
                if (last) {
                    deflater.finish();
                }
                // A flush is complete once it leaves output space unused (Deflater.deflate's contract).
                boolean done = false;
                while (!done) {
                    if (length == out.length) {
                        out = Arrays.copyOf(out, out.length * 2);
                    }
                    length += deflater.deflate(out, length, out.length - length,
                            last ? Deflater.NO_FLUSH : Deflater.FULL_FLUSH);
                    done = last ? deflater.finished() : deflater.needsInput() && length < out.length;
                }
            }
            return Arrays.copyOf(out, length);
        } finally {
            deflater.end();
        }
    }
}
