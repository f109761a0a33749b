package dev.sprout.client;

import dev.sprout.backend.MemoryBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.block.BlockDeviceContract;
import dev.sprout.layer.ReadOnlyDevice;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

/** The block device contract through the client, against sprout's server over a Unix socket. */
class NbdBlockDeviceContractTest extends BlockDeviceContract {

    @TempDir
    Path dir;

    @Override
    protected BlockDevice newDevice(long size) throws IOException {
        return new InProcessServer(dir, MemoryBlockDevice.create(size)).connectOwning();
    }

    /** A read-only export: the client refuses modifications itself, with EPERM. */
    @Nested
    class ReadOnly extends BlockDeviceContract {

        @Override
        protected BlockDevice newDevice(long size) throws IOException {
            return new InProcessServer(dir, new ReadOnlyDevice(MemoryBlockDevice.create(size))).connectOwning();
        }

        @Override
        protected boolean writable() {
            return false;
        }
    }
}
