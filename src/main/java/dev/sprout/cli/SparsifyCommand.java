package dev.sprout.cli;

import dev.sprout.block.BlockDevice;
import dev.sprout.tool.Copy;
import dev.sprout.tool.CopyJob;
import dev.sprout.tool.CopySettings;
import dev.sprout.tool.ImageOpener;
import dev.sprout.tool.Progress;
import dev.sprout.tool.Sparsify;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** {@code sprout sparsify IMAGE [OUTPUT] [--in-place]}: zero-filled blocks become holes. */
@Command(name = "sparsify", mixinStandardHelpOptions = true,
        description = "Turn zero-filled blocks into holes: in place, or into a new image OUTPUT (a sparse copy).")
final class SparsifyCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "IMAGE")
    String image;

    @Parameters(index = "1", paramLabel = "OUTPUT", arity = "0..1", description = "The new image (without --in-place).")
    String output;

    @Option(names = "--in-place", description = "Punch the zero blocks of IMAGE itself.")
    boolean inPlace;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (inPlace == (output != null)) {
            throw new IllegalArgumentException("give either --in-place or an OUTPUT image");
        }
        if (inPlace) {
            try (BlockDevice device = ImageOpener.open(image, false); Progress progress = new Progress(device.size(), null)) {
                out.println(Sparsify.inPlace(device, progress).line());
            }
        } else {
            Copy.Summary summary = new CopyJob(image, output, ImageOpener.OutputFormat.RAW, null, CopySettings.defaults(), null).run(null, null);
            out.println(summary.line());
        }
        out.flush();
        return 0;
    }
}
