package dev.sprout.tool;

import dev.sprout.client.MultiConnectionDevice;
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

    /** {@link #requests}, or {@code automatic} when that is {@link Copy#AUTO_REQUESTS}. */
    int requestsOr(int automatic) {
        return requests == Copy.AUTO_REQUESTS ? automatic : requests;
    }

    /** The copy's options; {@code freshDestination} for a new file, and for any destination with {@link #targetIsZero}. */
    Copy.Options options(boolean freshDestination) {
        return new Copy.Options(requests, freshDestination || targetIsZero, flush);
    }
}
