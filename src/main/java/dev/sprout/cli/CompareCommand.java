package dev.sprout.cli;

import dev.sprout.block.BlockDevice;
import dev.sprout.tool.Compare;
import dev.sprout.tool.ImageOpener;
import dev.sprout.tool.JsonText;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.Callable;

/** {@code sprout compare A B}: exit 0 when identical, 1 at the first difference, 2 on error (like cmp). */
final class CompareCommand implements Callable<Integer> {

    String first;
    String second;
    boolean json;
    private CommandSpec spec;

    CommandSpec declare() {
        spec = CommandDeclaration.command("compare", this,
                        "Compare two images; holes and zeroes are equal, as are zeroes past the end of the shorter.",
                        "Exit status: 0 identical, 1 different, 2 error.")
                .parameter(0, "A", String.class, () -> first, v -> first = v, null)
                .parameter(1, "B", String.class, () -> second, v -> second = v, null)
                .flag("--json", () -> json, v -> json = v,
                        "Print one JSON object: identical, and the first differing offset (null when identical).")
                .spec();
        return spec;
    }

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
        if (json) {
            Map<String, Object> facts = new LinkedHashMap<>();
            facts.put("identical", difference.isEmpty());
            facts.put("first_difference", difference.isEmpty() ? null : difference.getAsLong());
            out.print(JsonText.write(facts));
        } else {
            out.println(difference.isEmpty() ? "Images are identical."
                    : "Content mismatch at offset " + difference.getAsLong() + "!");
        }
        out.flush();
        return difference.isEmpty() ? 0 : 1;
    }
}
