package dev.sprout.cli;

import dev.sprout.client.MultiConnectionDevice;
import dev.sprout.format.qcow2.Qcow2Compression;
import dev.sprout.os.PipeBuffer;
import dev.sprout.tool.Copy;
import dev.sprout.tool.CopyJob;
import dev.sprout.tool.CopySettings;
import dev.sprout.tool.ImageOpener.OutputFormat;
import dev.sprout.tool.JsonText;
import picocli.CommandLine.Model.CommandSpec;

import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code sprout copy SRC DST}: copies an image, data only, keeping holes and zeroes sparse. */
final class CopyCommand implements Callable<Integer> {

    String source;
    String destination;
    String format = "raw";
    String compress;
    Integer partition;
    String requests = "auto";
    String connections = "auto";
    boolean flush;
    boolean targetIsZero;
    boolean progress;
    boolean json;

    CommandSpec declare() {
        return CommandDeclaration.command("copy", this,
                        "Copy a disk image: raw file, qcow2, nbd://host:port/export, nbd+unix:///export?socket=PATH,"
                                + " or - for stdin/stdout.",
                        "Only data is copied: holes and all-zero blocks stay holes. A file destination is written under a"
                                + " temporary name and renamed when complete; an NBD destination is written in place.")
                .parameter(0, "SRC", String.class, () -> source, v -> source = v, "Source image, NBD URI, or - for stdin.")
                .parameter(1, "DST", String.class, () -> destination, v -> destination = v,
                        "Destination file, NBD URI, or - for stdout.")
                .option("-O", "FORMAT", String.class, () -> format, v -> format = v,
                        "Format of a new file destination: raw (default) or qcow2.")
                .option("--compress", "ALGORITHM", String.class, () -> compress, v -> compress = v,
                        "Compress every data cluster: zstd or deflate (with -O qcow2, into a new file;"
                                + " the same input always gives the same bytes).")
                .option("--partition", "N", Integer.class, () -> partition, v -> partition = v,
                        "Copy only partition N of the source (MBR or GPT).")
                .option("--requests", "N|auto", String.class, () -> requests, v -> requests = v,
                        "Requests in flight at most, of 1 MiB (512 KiB out of a file into an export over TCP). auto (the"
                                + " default): 64 reads out of an NBD export, 8 writes into one, one per core between"
                                + " local files and devices.")
                .option("--connections", "N|auto", String.class, () -> connections, v -> connections = v,
                        "Connections to an NBD source or destination whose server advertises multi-conn; requests are"
                                + " spread over them. auto (the default): one per core, 2 to 4 (out of a raw file over"
                                + " TCP: one per two cores, 1 to 4), or one when the server does not advertise"
                                + " multi-conn.")
                .flag("--flush", () -> flush, v -> flush = v, "Flush the destination before finishing (fdatasync for a"
                        + " file, FLUSH for NBD): slower, but the copy is on disk when sprout exits.")
                .flag("--target-is-zero", () -> targetIsZero, v -> targetIsZero = v,
                        "The NBD or block-device destination reads as zeroes already (a new export, say): its holes"
                                + " are left alone instead of zeroed, as qemu-img's --target-is-zero and nbdcopy's"
                                + " --destination-is-zero do. A new file is always treated so.")
                .flag("--progress", () -> progress, v -> progress = v,
                        "Show a progress bar even when stderr is not a terminal.")
                .flag("--json", () -> json, v -> json = v,
                        "Print the summary as one JSON object on stdout (not with DST -, whose stdout is the image).")
                .spec();
    }

    @Override
    public Integer call() throws IOException {
        OutputFormat output = switch (format.toLowerCase(Locale.ROOT)) {
            case "raw" -> OutputFormat.RAW;
            case "qcow2" -> OutputFormat.QCOW2;
            default -> throw new IllegalArgumentException("unknown output format '" + format + "': raw or qcow2");
        };
        if (json && CopyJob.STREAM.equals(destination)) {
            throw new IllegalArgumentException("--json prints to stdout, which carries the image when DST is -");
        }
        Qcow2Compression compression = compress == null ? null : Qcow2Compression.parse(compress);
        if (CopyJob.STREAM.equals(source)) {
            PipeBuffer.widen(0, PipeBuffer.WIDE); // stdin, when it is a pipe
        }
        if (CopyJob.STREAM.equals(destination)) {
            PipeBuffer.widen(1, PipeBuffer.WIDE); // stdout, when it is a pipe
        }
        PrintStream stderr = new PrintStream(new FileOutputStream(FileDescriptor.err), true);
        boolean bar = progress || System.console() != null && System.console().isTerminal();
        OutputStream stdout = new FileOutputStream(FileDescriptor.out);
        CopySettings settings = new CopySettings(requestCount(), flush, compression, connectionCount(), targetIsZero);
        Copy.Summary summary = new CopyJob(source, destination, output, partition, settings, bar ? stderr : null)
                .run(new FileInputStream(FileDescriptor.in), stdout);
        if (json) {
            Map<String, Object> facts = new LinkedHashMap<>();
            facts.put("source", source);
            facts.put("destination", destination);
            facts.putAll(summary.facts());
            stdout.write(JsonText.write(facts).getBytes(StandardCharsets.UTF_8));
        } else {
            // The summary goes to stderr so that "copy SRC -" keeps stdout to the image bytes.
            stderr.println(summary.line());
        }
        stdout.flush();
        return 0;
    }

    private int requestCount() {
        return autoOrCount("--requests", requests, Copy.AUTO_REQUESTS, "a number of at least 1");
    }

    private int connectionCount() {
        return autoOrCount("--connections", connections, MultiConnectionDevice.AUTO, "a number from 1 to 64");
    }

    /**
     * The value of option {@code name}: {@code auto} as {@code auto}, else a number of at least 1
     * (a larger bound is checked where the value is used); anything else is refused naming
     * {@code accepted}.
     */
    private static int autoOrCount(String name, String value, int auto, String accepted) {
        if (value.equalsIgnoreCase("auto")) {
            return auto;
        }
        try {
            int count = Integer.parseInt(value);
            if (count >= 1) {
                return count;
            }
        } catch (NumberFormatException e) {
            // Reported below with the accepted values.
        }
        throw new IllegalArgumentException(name + " takes auto or " + accepted + ", not '" + value + "'");
    }
}
