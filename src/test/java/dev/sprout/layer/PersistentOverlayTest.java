package dev.sprout.layer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import dev.sprout.backend.FileBlockDevice;
import dev.sprout.backend.PatternBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockDeviceContract;
import dev.sprout.format.qcow2.Qcow2Image;
import dev.sprout.format.qcow2.Qcow2Info;
import dev.sprout.tool.ImageInfo;
import dev.sprout.tool.ImageOpener;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cow:overlay=FILE.qcow2}: the contract over a pattern device (an overlay whose backing is
 * supplied from outside) and over a raw file; then what survives the layer and what is refused.
 */
class PersistentOverlayTest extends BlockDeviceContract {

    @TempDir
    Path dir;

    @Override
    protected BlockDevice newDevice(long size) throws IOException {
        Path overlay = Files.createTempDirectory(dir, "p").resolve("overlay.qcow2");
        return LayerCatalog.wrap("cow:overlay=" + overlay, new PatternBlockDevice(size));
    }

    @Override
    protected boolean startsZeroed() {
        return false;
    }

    @Nested
    class OverARawFile extends BlockDeviceContract {
        @Override
        protected BlockDevice newDevice(long size) throws IOException {
            Path folder = Files.createTempDirectory(dir, "f");
            Files.write(folder.resolve("base.img"), random(size, 3));
            return LayerCatalog.wrap("cow:overlay=" + folder.resolve("overlay.qcow2"),
                    FileBlockDevice.open(folder.resolve("base.img"), true));
        }

        @Override
        protected boolean startsZeroed() {
            return false;
        }
    }

    @Test
    void writesSurviveTheLayerAndTheImageAloneShowsTheSameDisk() throws IOException {
        Path base = dir.resolve("base.img");
        byte[] content = random(1 << 20, 1);
        Files.write(base, content);
        Path overlay = dir.resolve("overlay.qcow2");
        try (BlockDevice cow = overLayer(overlay, base)) {
            cow.write(4096, ByteBuffer.wrap(new byte[]{1, 2, 3}), false);
            cow.zero(65536, 65536, dev.sprout.block.ZeroFlags.PUNCH);
            cow.flush();
        }
        System.arraycopy(new byte[]{1, 2, 3}, 0, content, 4096, 3);
        java.util.Arrays.fill(content, 65536, 131072, (byte) 0);
        try (BlockDevice again = overLayer(overlay, base)) {
            assertThat(readAll(again)).isEqualTo(content);
        }
        try (Qcow2Image alone = Qcow2Image.open(overlay, false, ImageOpener.BACKING_FILES)) {
            assertThat(readAll(alone)).isEqualTo(content);
            assertThat(alone.info().backingFile()).contains("base.img");
            assertThat(alone.info().backingFormat()).contains("raw");
        }
        assertThat(Files.readAllBytes(base)).as("the base is never written").isEqualTo(random(1 << 20, 1));
    }

    @Test
    void aBaseInAnotherFolderIsRecordedByItsAbsolutePath() throws IOException {
        Path base = Files.createDirectory(dir.resolve("elsewhere")).resolve("base.img");
        Files.write(base, new byte[65536]);
        try (BlockDevice cow = overLayer(dir.resolve("overlay.qcow2"), base);
             Qcow2Image alone = Qcow2Image.open(dir.resolve("overlay.qcow2"), true, ImageOpener.BACKING_FILES)) {
            assertThat(cow.size()).isEqualTo(65536);
            assertThat(alone.info().backingFile()).contains(base.toString());
        }
    }

    @Test
    void anOverlayOverADeviceThatIsNoFileSaysItsBackingIsSuppliedExternally() throws IOException {
        Path overlay = dir.resolve("overlay.qcow2");
        BlockDevice lower = new PatternBlockDevice(1 << 20);
        String shown = lower.toString();
        LayerCatalog.wrap("cow:overlay=" + overlay, lower).close();
        try (Qcow2Image alone = Qcow2Image.open(overlay, true, ImageOpener.BACKING_FILES)) {
            Qcow2Info info = alone.info();
            assertThat(info.backingFile()).isEmpty();
            assertThat(info.externalBacking()).contains(shown);
            assertThat(ImageInfo.text(ImageInfo.describe(overlay.toString(), alone))).contains("backing: supplied externally");
        }
        assertThatIllegalArgumentException().isThrownBy(() -> Qcow2Image.open(overlay, false, ImageOpener.BACKING_FILES))
                .withMessageContaining("supplied by a cow layer");
    }

    @Test
    void anOverlayOfAnotherSizeIsRefused() throws IOException {
        Path overlay = dir.resolve("overlay.qcow2");
        LayerCatalog.wrap("cow:overlay=" + overlay, new PatternBlockDevice(1 << 20)).close();
        try (BlockDevice bigger = new PatternBlockDevice(2 << 20)) {
            assertThatIllegalArgumentException().isThrownBy(() -> LayerCatalog.wrap("cow:overlay=" + overlay, bigger))
                    .withMessageContaining("is 1048576 bytes but the device below").withMessageContaining("2097152");
        }
    }

    @Test
    void anOverlayThatNamesAnotherBaseIsRefused() throws IOException {
        Path base = dir.resolve("base.img");
        Path other = dir.resolve("other.img");
        Files.write(base, new byte[65536]);
        Files.write(other, new byte[65536]);
        overLayer(dir.resolve("overlay.qcow2"), base).close();
        try (BlockDevice lower = FileBlockDevice.open(other, true)) {
            assertThatIllegalArgumentException()
                    .isThrownBy(() -> LayerCatalog.wrap("cow:overlay=" + dir.resolve("overlay.qcow2"), lower))
                    .withMessageContaining("names backing file " + base).withMessageContaining(other.toString());
        }
        try (BlockDevice lower = new PatternBlockDevice(65536)) {
            assertThatIllegalArgumentException()
                    .isThrownBy(() -> LayerCatalog.wrap("cow:overlay=" + dir.resolve("overlay.qcow2"), lower))
                    .withMessageContaining("not that file");
        }
    }

    @Test
    void blockAndTmpDoNotApplyToAPersistentOverlay() throws IOException {
        try (BlockDevice lower = new PatternBlockDevice(65536)) {
            assertThatIllegalArgumentException()
                    .isThrownBy(() -> LayerCatalog.wrap("cow:overlay=" + dir.resolve("o.qcow2") + ",block=4K", lower))
                    .withMessageContaining("block= and tmp= do not apply");
        }
        assertThat(dir.resolve("o.qcow2")).doesNotExist();
    }

    private static BlockDevice overLayer(Path overlay, Path base) throws IOException {
        return LayerCatalog.wrap("cow:overlay=" + overlay, FileBlockDevice.open(base, true));
    }

    private static byte[] readAll(BlockDevice device) throws IOException {
        ByteBuffer all = ByteBuffer.allocate((int) device.size());
        device.read(0, all);
        return all.array();
    }

    private static byte[] random(long size, long seed) {
        byte[] bytes = new byte[(int) size];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
