package dev.sprout.cli;

import dev.sprout.tool.Copy;
import dev.sprout.tool.CopyJob;
import dev.sprout.tool.CopySettings;
import dev.sprout.tool.JsonText;
import dev.sprout.tool.Progress;
import dev.sprout.tool.Sparsify;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** {@code sprout sparsify IMAGE [OUTPUT] [--in-place]}: zero-filled blocks become holes or zero clusters. */
final class SparsifyCommand implements Callable<Integer> {

    String image;
    String output;
    boolean inPlace;
    boolean json;
    private CommandSpec spec;

    CommandSpec declare() {
        spec = CommandDeclaration.command("sparsify", this, "Turn zero-filled blocks into holes (raw files, devices)"
                                + " or zero clusters (qcow2): in place, or into a new image OUTPUT (a sparse copy, qcow2"
                                + " for a qcow2 image, its backing chain flattened).",
                        "Reports the bytes found zero and, for files, the space won.")
                .parameter(0, "IMAGE", String.class, () -> image, v -> image = v, null)
                .optionalParameter(1, "OUTPUT", String.class, () -> output, v -> output = v,
                        "The new image (without --in-place).")
                .flag("--in-place", () -> inPlace, v -> inPlace = v, "Punch the zero blocks of IMAGE itself.")
                .flag("--json", () -> json, v -> json = v, "Print the report as one JSON object.")
                .spec();
        return spec;
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        if (inPlace == (output != null)) {
            throw new IllegalArgumentException("give either --in-place or an OUTPUT image");
        }
        Sparsify.Result result;
        if (inPlace) {
            try (Progress progress = new Progress(0, null)) {
                result = Sparsify.inPlace(image, progress);
            }
        } else {
            Copy.Summary copy = new CopyJob(image, output, Sparsify.formatOf(image), null, CopySettings.defaults(), null)
                    .run(null, null);
            result = Sparsify.copied(image, output, copy);
        }
        if (json) {
            out.print(JsonText.write(result.facts()));
        } else {
            out.println(result.line());
        }
        out.flush();
        return 0;
    }
}
