package dev.sprout.format.qcow2;

import dev.sprout.block.DeviceException;
import dev.sprout.block.Errno;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Reading compressed clusters (qcow2.txt: "Compressed Clusters Descriptor"): raw deflate, or zstd
 * through zstd-jni. Decompression stops once a whole cluster came out, as the spec demands,
 * since the stored data is rounded up to sectors and may be followed by another cluster's.
 */
final class CompressedCluster {

    private CompressedCluster() {
    }

    /** Where the compressed data of L2 entry {@code entry} starts in the host file. */
    static long hostOffset(long entry, int clusterBits) {
        int x = 62 - (clusterBits - 8);
        return entry & ((1L << x) - 1);
    }

    /** How many bytes from {@link #hostOffset} may hold the compressed data. */
    static int storedLength(long entry, int clusterBits) {
        int x = 62 - (clusterBits - 8);
        long sectors = ((entry & ~Tables.COPIED & ~Tables.COMPRESSED) >>> x) + 1;
        return (int) (sectors * 512 - (hostOffset(entry, clusterBits) & 511));
    }

    /** Reads and decompresses the cluster of {@code entry}. */
    static byte[] read(ImageFile file, long entry, int clusterBits, int compressionType) throws IOException {
        long offset = hostOffset(entry, clusterBits);
        ByteBuffer stored = ByteBuffer.allocate(storedLength(entry, clusterBits));
        file.read(offset, stored, "compressed cluster");
        byte[] cluster = new byte[1 << clusterBits];
        String where = file + " compressed cluster@0x" + Long.toHexString(offset);
        if (compressionType == 0) {
            inflate(stored.array(), cluster, where);
        } else {
            unzstd(stored.array(), cluster, where);
        }
        return cluster;
    }

    private static void inflate(byte[] stored, byte[] cluster, String where) throws DeviceException {
        Inflater inflater = new Inflater(true);
        try {
            inflater.setInput(stored);
            int done = 0;
            while (done < cluster.length) {
                int n = inflater.inflate(cluster, done, cluster.length - done);
                if (n == 0 && (inflater.finished() || inflater.needsInput() || inflater.needsDictionary())) {
                    break;
                }
                done += n;
            }
            if (done < cluster.length) {
                throw new DeviceException(Errno.EIO, where + ": deflate data ends after " + done + " bytes");
            }
        } catch (DataFormatException e) {
            throw new DeviceException(Errno.EIO, where + ": bad deflate data: " + e.getMessage(), e);
        } finally {
            inflater.end();
        }
    }

    private static void unzstd(byte[] stored, byte[] cluster, String where) throws IOException {
        try (InputStream in = new com.github.luben.zstd.ZstdInputStreamNoFinalizer(new ByteArrayInputStream(stored))) {
            int done = in.readNBytes(cluster, 0, cluster.length);
            if (done < cluster.length) {
                throw new DeviceException(Errno.EIO, where + ": zstd data ends after " + done + " bytes");
            }
        } catch (LinkageError e) {
            throw new DeviceException(Errno.ENOTSUP, where + ": zstd is not available on this platform: " + e, e);
        } catch (DeviceException e) {
            throw e;
        } catch (IOException e) {
            throw new DeviceException(Errno.EIO, where + ": bad zstd data: " + e.getMessage(), e);
        }
    }
}
