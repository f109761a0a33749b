package dev.sprout.layer;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.DeviceException;
import dev.sprout.block.ForwardingBlockDevice;
import dev.sprout.fs.Partition;
import dev.sprout.fs.PartitionTable;

import java.io.IOException;
import java.util.List;
import java.util.stream.Collectors;

/**
 * One partition of an MBR or GPT disk as a device of its own: the window onto the device below
 * that the partition table, read once at start-up, describes.
 */
public final class PartitionDevice extends ForwardingBlockDevice {

    /** The partition's number and the disk it is on, for messages. */
    private final String description;

    private PartitionDevice(OffsetDevice window, String description) {
        super(window);
        this.description = description;
    }

    /** {@code partition:number=N}. */
    static BlockDevice create(BlockDevice in, LayerParameters p) throws IOException {
        p.accept("number");
        long number = p.number("number").orElseThrow(() -> new IllegalArgumentException(
                "layer 'partition': number=N is required (GPT partitions count from 1, logical MBR ones from 5)"));
        PartitionTable table;
        try {
            table = PartitionTable.read(in);
        } catch (DeviceException e) {
            throw new IllegalArgumentException("layer 'partition': " + e.getMessage(), e);
        }
        List<Partition> partitions = table.partitions();
        Partition partition = table.partition(number).orElseThrow(() -> new IllegalArgumentException(
                "layer 'partition': partition " + number + " does not exist; the " + table.scheme() + " table of "
                        + in + (partitions.isEmpty() ? " has no partitions" : " has partitions " + numbers(partitions))));
        if (partition.container()) {
            List<Partition> logical = partitions.stream().filter(q -> q.number() > 4).toList();
            throw new IllegalArgumentException("layer 'partition': partition " + number + " of " + in
                    + " is an extended partition, a container for " + (logical.isEmpty()
                    ? "logical partitions (it holds none)" : "the logical partitions " + numbers(logical)));
        }
        if (partition.end() > in.size()) {
            throw new IllegalArgumentException("layer 'partition': partition " + number + " (bytes " + partition.start()
                    + " to " + partition.end() + ") extends past the end of " + in + " (" + in.size() + " bytes)");
        }
        return new PartitionDevice(new OffsetDevice(in, partition.start(), partition.size()),
                number + " of " + table.scheme() + " " + in);
    }

    private static String numbers(List<Partition> partitions) {
        return partitions.stream().map(q -> Integer.toString(q.number())).collect(Collectors.joining(", "));
    }

    @Override
    public String toString() {
        return "Partition(" + description + ")";
    }
}
