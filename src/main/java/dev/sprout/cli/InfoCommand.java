package dev.sprout.cli;

import dev.sprout.block.BlockDevice;
import dev.sprout.tool.ImageInfo;
import dev.sprout.tool.ImageOpener;
import dev.sprout.tool.JsonText;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code sprout info IMAGE|URI}: format, size, allocation; for NBD the flags, contexts and block sizes. */
final class InfoCommand implements Callable<Integer> {

    String image;
    boolean json;
    private CommandSpec spec;

    CommandSpec declare() {
        spec = CommandDeclaration.command("info", this,
                        "Describe an image (raw, qcow2) or an NBD export (flags, contexts, block sizes, like nbdinfo).")
                .parameter(0, "IMAGE|URI", String.class, () -> image, v -> image = v, null)
                .flag("--json", () -> json, v -> json = v, "Print one JSON object.")
                .spec();
        return spec;
    }

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
