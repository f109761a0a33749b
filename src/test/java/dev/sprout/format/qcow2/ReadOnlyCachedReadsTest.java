package dev.sprout.format.qcow2;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprout.tool.ImageOpener;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An image opened read-only (`serve -r`, a backing file) answers reads of cached data clusters at
 * once, like a writable one: readIfReady needs the native descriptor for preadv2, not write access.
 */
class ReadOnlyCachedReadsTest {

    private static final int CLUSTER = 65536;

    @TempDir
    Path dir;

    @Test
    void cachedDataClustersOfAReadOnlyImageAreReadAtOnce() throws Exception {
        Path image = dir.resolve("data.qcow2");
        Qcow2Image.create(image, 32L * CLUSTER, Optional.empty(), CLUSTER);
        byte[] data = new byte[16 * CLUSTER];
        new Random(7).nextBytes(data);
        try (Qcow2Image writable = Qcow2Image.open(image, false, ImageOpener.BACKING_FILES)) {
            writable.write(0, ByteBuffer.wrap(data), true);
        }
        try (Qcow2Image readOnly = Qcow2Image.open(image, true, ImageOpener.BACKING_FILES)) {
            readOnly.read(0, ByteBuffer.allocateDirect(data.length)); // into the page cache
            ByteBuffer dst = ByteBuffer.allocateDirect(data.length);

            assertThat(readOnly.readIfReady(0, dst)).isTrue();
            byte[] read = new byte[data.length];
            dst.flip().get(read);
            assertThat(read).isEqualTo(data);
        }
    }
}
