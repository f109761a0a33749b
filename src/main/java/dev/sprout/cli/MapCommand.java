package dev.sprout.cli;

import dev.sprout.tool.ImageMap;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code sprout map IMAGE|URI}: the extents of an image, data, zero or hole, and the layer each comes from. */
final class MapCommand implements Callable<Integer> {

    String image;
    boolean json;
    private CommandSpec spec;

    CommandSpec declare() {
        spec = CommandDeclaration.command("map", this, "Show where an image holds data, allocated zeroes and holes,"
                        + " and for a qcow2 backing chain which layer (depth 0 the image, 1 its backing file, ...) each"
                        + " range comes from.")
                .parameter(0, "IMAGE|URI", String.class, () -> image, v -> image = v, "Raw or qcow2 image, or NBD URI.")
                .flag("--json", () -> json, v -> json = v, "JSON like qemu-img map --output=json: start, length, depth,"
                        + " present, zero, data, plus hole and file.")
                .spec();
        return spec;
    }

    @Override
    public Integer call() throws IOException {
        List<ImageMap.Entry> entries = ImageMap.of(image);
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? ImageMap.json(entries) : ImageMap.text(entries));
        out.flush();
        return 0;
    }
}
