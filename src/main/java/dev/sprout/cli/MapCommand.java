package dev.sprout.cli;

import dev.sprout.block.BlockDevice;
import dev.sprout.block.Extent;
import dev.sprout.tool.ExtentMap;
import dev.sprout.tool.ImageOpener;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code sprout map IMAGE|URI}: the extents of an image, data, zero or hole. */
@Command(name = "map", mixinStandardHelpOptions = true,
        description = "Show where an image holds data, allocated zeroes and holes.")
final class MapCommand implements Callable<Integer> {

    @Parameters(paramLabel = "IMAGE|URI", description = "Raw or qcow2 image, or NBD URI.")
    String image;

    @Option(names = "--json", description = "JSON like qemu-img map --output=json: start, length, data, zero, hole.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        List<Extent> extents;
        try (BlockDevice device = ImageOpener.open(image, true)) {
            extents = ExtentMap.of(device);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? ExtentMap.json(extents) : ExtentMap.text(extents));
        out.flush();
        return 0;
    }
}
