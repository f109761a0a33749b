package dev.sprout.server;

import dev.sprout.block.BlockDevice;

/**
 * A named block device offered to clients.
 *
 * @param name        the name clients ask for; "" is the default export
 * @param description shown by {@code nbdinfo} and in export lists
 * @param device      the top of the device stack
 */
public record Export(String name, String description, BlockDevice device) {
}
