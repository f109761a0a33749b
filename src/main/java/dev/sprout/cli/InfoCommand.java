package dev.sprout.cli;

import dev.sprout.block.BlockDevice;
import dev.sprout.tool.ImageInfo;
import dev.sprout.tool.ImageOpener;
import dev.sprout.tool.JsonText;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code sprout info IMAGE|URI}: format, size, allocation; for NBD the flags, contexts and block sizes. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Describe an image (raw, qcow2) or an NBD export (flags, contexts, block sizes, like nbdinfo).")
final class InfoCommand implements Callable<Integer> {

    @Parameters(paramLabel = "IMAGE|URI")
    String image;

    @Option(names = "--json", description = "Print one JSON object.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        Map<String, Object> facts;
        try (BlockDevice device = ImageOpener.openToDescribe(image)) {
            facts = ImageInfo.describe(image, device);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? JsonText.write(facts) : ImageInfo.text(facts));
        out.flush();
        return 0;
    }
}
