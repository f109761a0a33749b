package dev.sprout.tool;

import dev.sprout.client.MultiConnectionDevice;
import dev.sprout.format.qcow2.Qcow2Compression;

/**
 * How {@code sprout copy} runs, apart from what it copies where.
 *
 * @param requests reads and writes in flight at most
 * @param flush    flush the destination before reporting success (a file destination: before it
 *                 is renamed); off by default, as in {@code qemu-img convert} and {@code nbdcopy}
 * @param compression compress every data cluster of a new qcow2 file this way, or null for none
 * @param connections connections to each NBD end whose server allows several (multi-conn), or
 *                    {@link MultiConnectionDevice#AUTO} to let the client decide
 */
public record CopySettings(int requests, boolean flush, Qcow2Compression compression, int connections) {

    public CopySettings {
        if (requests < 1) {
            throw new IllegalArgumentException("--requests must be at least 1");
        }
        if (connections != MultiConnectionDevice.AUTO && (connections < 1 || connections > 64)) {
            throw new IllegalArgumentException("--connections must be auto or from 1 to 64");
        }
    }

    /** Requests in flight unless told otherwise: 16 MiB, as nbdcopy keeps per connection. */
    public static final int DEFAULT_REQUESTS = 64;

    /** The defaults: 64 requests, no final flush, no compression, connections decided per NBD end. */
    public static CopySettings defaults() {
        return new CopySettings(DEFAULT_REQUESTS, false, null, MultiConnectionDevice.AUTO);
    }

    Copy.Options options(boolean freshDestination) {
        return new Copy.Options(requests, freshDestination, flush);
    }
}
