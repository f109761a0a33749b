package dev.sprout.cli;

import dev.sprout.block.BlockDevice;
import dev.sprout.tool.Compare;
import dev.sprout.tool.ImageOpener;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.OptionalLong;
import java.util.concurrent.Callable;

/** {@code sprout compare A B}: exit 0 when identical, 1 at the first difference, 2 on error (like cmp). */
@Command(name = "compare", mixinStandardHelpOptions = true,
        description = {"Compare two images; holes and zeroes are equal, as are zeroes past the end of the shorter.",
                "Exit status: 0 identical, 1 different, 2 error."})
final class CompareCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "A")
    String first;

    @Parameters(index = "1", paramLabel = "B")
    String second;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        OptionalLong difference;
        try (BlockDevice a = ImageOpener.open(first, true); BlockDevice b = ImageOpener.open(second, true)) {
            difference = Compare.firstDifference(a, b);
        } catch (IOException | RuntimeException e) {
            spec.commandLine().getErr().println("sprout: " + e.getMessage());
            return 2;
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println(difference.isEmpty() ? "Images are identical."
                : "Content mismatch at offset " + difference.getAsLong() + "!");
        out.flush();
        return difference.isEmpty() ? 0 : 1;
    }
}
