package dev.sprout.cli;

import dev.sprout.backend.FileBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.fs.Partition;
import dev.sprout.fs.PartitionTable;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code sprout partitions IMAGE}: lists the partitions of a raw disk image. */
final class PartitionsCommand implements Callable<Integer> {

    private static final String[] HEADINGS = {"NUMBER", "START", "SIZE", "", "TYPE", "", "NAME"};

    Path image;
    boolean json;
    private CommandSpec spec;

    CommandSpec declare() {
        spec = CommandDeclaration.command("partitions", this,
                        "List the partitions of a raw disk image (MBR with logical partitions, or GPT).")
                .footer("", "Serve one of them with: sprout serve --layer partition:number=N file IMAGE")
                .parameter(0, "IMAGE", Path.class, () -> image, v -> image = v, "The raw disk image.")
                .flag("--json", () -> json, v -> json = v,
                        "Print JSON: {\"scheme\", \"sector_size\", \"partitions\": [...]}.")
                .spec();
        return spec;
    }

    @Override
    public Integer call() throws IOException {
        PartitionTable table;
        try (BlockDevice device = FileBlockDevice.open(image, true)) {
            table = PartitionTable.read(device);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? json(table) : text(table));
        out.flush();
        return 0;
    }

    /** A heading line, then one aligned row per partition. */
    private String text(PartitionTable table) {
        List<String[]> rows = new ArrayList<>();
        rows.add(HEADINGS);
        for (Partition p : table.partitions()) {
            rows.add(new String[] {Integer.toString(p.number()), Long.toString(p.start()), Long.toString(p.size()),
                human(p.size()), p.type(), p.typeName(), p.name()});
        }
        int[] widths = new int[HEADINGS.length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                widths[i] = Math.max(widths[i], row[i].length());
            }
        }
        StringBuilder text = new StringBuilder(image + ": " + table.scheme() + ", " + table.partitions().size()
                + (table.partitions().size() == 1 ? " partition" : " partitions") + "\n");
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                boolean number = i < 4;
                String cell = number ? " ".repeat(widths[i] - row[i].length()) + row[i]
                        : row[i] + " ".repeat(widths[i] - row[i].length());
                line.append(i == 0 ? "" : "  ").append(cell);
            }
            text.append(line.toString().stripTrailing()).append('\n');
        }
        return text.toString();
    }

    private String json(PartitionTable table) {
        StringBuilder json = new StringBuilder("{\"image\": " + quote(image.toString()) + ", \"scheme\": "
                + quote(table.scheme().toLowerCase(Locale.ROOT)) + ", \"sector_size\": "
                + PartitionTable.SECTOR_SIZE + ", \"partitions\": [");
        String separator = "\n";
        for (Partition p : table.partitions()) {
            json.append(separator).append("  {\"number\": ").append(p.number())
                    .append(", \"start\": ").append(p.start())
                    .append(", \"size\": ").append(p.size())
                    .append(", \"type\": ").append(quote(p.type()))
                    .append(", \"type_name\": ").append(quote(p.typeName()))
                    .append(", \"name\": ").append(quote(p.name()))
                    .append(", \"extended\": ").append(p.container()).append('}');
            separator = ",\n";
        }
        return json.append(table.partitions().isEmpty() ? "]}\n" : "\n]}\n").toString();
    }

    /** A JSON string literal. */
    private static String quote(String text) {
        StringBuilder quoted = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> quoted.append("\\\"");
                case '\\' -> quoted.append("\\\\");
                case '\n' -> quoted.append("\\n");
                default -> {
                    if (c < 0x20) {
                        quoted.append(String.format("\\u%04x", (int) c));
                    } else {
                        quoted.append(c);
                    }
                }
            }
        }
        return quoted.append('"').toString();
    }

    /** Bytes in the largest binary unit below them, one decimal unless exact: 512B, 1M, 1.5G, 6.0M for a bit less than 6M. */
    static String human(long bytes) {
        String units = "KMGTPE";
        int unit = -1;
        while (unit + 1 < units.length() && bytes >= 1L << (10 * (unit + 2))) {
            unit++;
        }
        if (unit < 0) {
            return bytes + "B";
        }
        long scale = 1L << (10 * (unit + 1));
        String number = bytes % scale == 0 ? Long.toString(bytes / scale)
                : String.format(Locale.ROOT, "%.1f", (double) bytes / scale);
        return number + units.charAt(unit);
    }
}
