package dev.sprout.cli;

import dev.sprout.format.qcow2.Qcow2Check;
import dev.sprout.format.qcow2.Qcow2Image;
import dev.sprout.tool.JsonText;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code sprout check IMAGE}: qcow2 refcount consistency, with qemu-img check's exit codes; leaks repaired on request. */
final class CheckCommand implements Callable<Integer> {

    Path image;
    boolean repair;
    boolean json;
    private CommandSpec spec;

    CommandSpec declare() {
        spec = CommandDeclaration.command("check", this, "Check a qcow2 image's metadata: leaked clusters, corruptions,"
                        + " entries past the end of the file or unaligned, overlapping metadata. Read-only unless --repair.")
                .footer("", "Exit status (as qemu-img check): 0 clean, 1 check not completed, 2 corruptions, 3 leaked"
                        + " clusters only.", "", "Examples:", "  sprout check overlay.qcow2", "  sprout check --repair overlay.qcow2")
                .parameter(0, "IMAGE", Path.class, () -> image, v -> image = v, "A qcow2 image.")
                .flag("--repair", () -> repair, v -> repair = v, "Set leaked clusters' refcounts to their true value and"
                        + " free their space; corruptions are never touched.")
                .flag("--json", () -> json, v -> json = v, "Print one JSON object (keys as qemu-img check --output=json).")
                .spec();
        return spec;
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Qcow2Check.Result result;
        long repaired = 0;
        String refusal = null;
        try {
            if (!Files.isRegularFile(image)) {
                throw new IOException(image + ": no such file");
            }
            if (!Qcow2Image.isQcow2(image)) {
                throw new IOException(image + ": not a qcow2 image; only qcow2 images can be checked");
            }
            result = Qcow2Check.check(image);
            if (repair && result.leaks() > 0) {
                if (!result.repairable()) {
                    refusal = "not repairing: " + result.corruptions() + " corruptions were found; sprout repairs leaks only "
                            + "on an image with no corruptions, and never corruptions (qemu-img check -r all may)";
                } else {
                    Qcow2Check.Result after = Qcow2Check.repair(image, result);
                    repaired = result.leaks() - after.leaks();
                    result = after;
                }
            } else if (repair && result.corruptions() > 0) {
                refusal = "not repairing: sprout never repairs corruptions (qemu-img check -r all may)";
            }
        } catch (IOException | RuntimeException e) {
            err.println("sprout: check of " + image + " not completed: " + e.getMessage());
            err.flush();
            return 1;
        }
        if (json) {
            Map<String, Object> facts = new LinkedHashMap<>();
            facts.put("filename", image.toString());
            facts.put("format", "qcow2");
            facts.put("check-errors", 0);
            facts.put("corruptions", result.corruptions());
            facts.put("leaks", result.leaks());
            if (repaired > 0) {
                facts.put("leaks-fixed", repaired);
            }
            facts.put("image-end-offset", result.imageEndOffset());
            facts.put("total-clusters", result.totalClusters());
            facts.put("allocated-clusters", result.allocatedClusters());
            facts.put("fragmented-clusters", result.fragmentedClusters());
            facts.put("compressed-clusters", result.compressedClusters());
            facts.put("messages", result.messages());
            out.print(JsonText.write(facts));
        } else {
            for (String message : result.messages()) {
                out.println(message);
            }
            if (!result.messages().isEmpty()) {
                out.println();
            }
            if (repaired > 0) {
                out.println("The following inconsistencies were found and repaired:\n\n    " + repaired
                        + " leaked clusters\n    0 corruptions\n\nDouble checking the fixed image now...");
            }
            out.println(result.summary());
            out.println(result.allocation());
        }
        out.flush();
        if (refusal != null) {
            err.println("sprout: " + refusal);
            err.flush();
        }
        return result.exitCode();
    }
}
