package dev.sprout.tool;

import dev.sprout.backend.FileBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.client.MultiConnectionDevice;
import dev.sprout.client.NbdBlockDevice;
import dev.sprout.client.NbdUri;
import dev.sprout.format.qcow2.Qcow2Compression;

/**
 * How {@code sprout copy} runs, apart from what it copies where.
 *
 * @param requests reads and writes in flight at most, or {@link Copy#AUTO_REQUESTS} for each way of
 *                 copying to choose its own
 * @param flush    flush the destination before reporting success (a file destination: before it
 *                 is renamed); off by default, as in {@code qemu-img convert} and {@code nbdcopy}
 * @param compression compress every data cluster of a new qcow2 file this way, or null for none
 * @param connections connections to each NBD end whose server allows several (multi-conn), or
 *                    {@link MultiConnectionDevice#AUTO} to let the client decide
 * @param targetIsZero the user says the destination reads as zeroes already (a new export or
 *                     device), so that an NBD export or block device written in place has its
 *                     holes left alone, as a new file's are ({@code qemu-img convert
 *                     --target-is-zero}, {@code nbdcopy --destination-is-zero})
 */
public record CopySettings(int requests, boolean flush, Qcow2Compression compression, int connections,
                           boolean targetIsZero) {

    public CopySettings {
        if (requests < 1 && requests != Copy.AUTO_REQUESTS) {
            throw new IllegalArgumentException("--requests must be auto or at least 1");
        }
        if (connections != MultiConnectionDevice.AUTO && (connections < 1 || connections > 64)) {
            throw new IllegalArgumentException("--connections must be auto or from 1 to 64");
        }
    }

    /** The defaults: requests and connections decided per end, no final flush, no compression. */
    public static CopySettings defaults() {
        return new CopySettings(Copy.AUTO_REQUESTS, false, null, MultiConnectionDevice.AUTO, false);
    }

    /**
     * The connections to open to {@code destination} when it is an NBD export: {@link #connections},
     * except that {@code auto} out of a raw file into an export over TCP is one per two cores (at least
     * one, at most four) rather than {@link MultiConnectionDevice#autoCount()}. "Over TCP" is
     * {@link NbdBlockDevice#prefersTransfers(NbdUri)} false: the rule by which {@link Copy} takes its
     * path for such a copy once connected, so that the two cannot disagree. There each
     * connection's thread reads the file and sends it, the kernel's TCP work runs on both ends of
     * the loopback, and with one thread sending on 2 cores the other is left to the server: 2 GiB
     * of data (a 4 GiB image) into nbdkit memory took 0.81-0.83 s over one connection and 0.88-0.89
     * s over two, alternating, 20 runs each (nbdcopy 0.83 s), the client's CPU 0.91 s against 0.97
     * s and nbdkit's 0.50 s against 0.62 s; 4 GiB of data, 1.25 s against 1.46 s (nbdcopy 1.33 s).
     * Elsewhere two were faster on 2 cores: out of an export into a file (1.82 s against 2.09 s)
     * and from a file over a Unix socket, where sendfile(2) moves the data (0.77 s against 0.84 s).
     */
    int connectionsInto(String destination, BlockDevice source) {
        if (connections != MultiConnectionDevice.AUTO || !(source instanceof FileBlockDevice)
                || !NbdUri.looksLike(destination)
                || NbdBlockDevice.prefersTransfers(NbdUri.parse(destination))) {
            return connections;
        }
        return Math.clamp(Runtime.getRuntime().availableProcessors() / 2, 1, 4);
    }

    /** {@link #requests}, or {@code automatic} when that is {@link Copy#AUTO_REQUESTS}. */
    int requestsOr(int automatic) {
        return requests == Copy.AUTO_REQUESTS ? automatic : requests;
    }

    /** The copy's options; {@code freshDestination} for a new file, and for any destination with {@link #targetIsZero}. */
    Copy.Options options(boolean freshDestination) {
        return new Copy.Options(requests, freshDestination || targetIsZero, flush);
    }
}
