package dev.sprout.cli;

import dev.sprout.block.BlockDevice;
import dev.sprout.layer.LayerCatalog;
import dev.sprout.layer.ReadOnlyDevice;
import dev.sprout.server.Export;

import java.io.IOException;
import java.util.List;

/**
 * One export as the user described it — name, backend, layers top-down, read-only — from the
 * command line or a config file.
 */
record ExportSpec(String name, String description, BackendSpec backend, List<String> layers, boolean readOnly) {

    /**
     * Opens the stack. With read-only the backend is opened read-only and so is the top; an
     * overlay in the stack also keeps the backend read-only.
     */
    Export open() throws IOException {
        BlockDevice lower = backend.open(readOnly || LayerCatalog.neverWritesBelow(layers));
        BlockDevice top = LayerCatalog.stack(layers, lower);
        if (readOnly && top.capabilities().writable()) {
            top = new ReadOnlyDevice(top);
        }
        return new Export(name, description == null ? top.toString() : description, top);
    }
}
