package dev.sprout.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Exports described in a TOML file ({@code sprout serve --config exports.toml}), one table each:
 *
 * <pre>
 * [export.base]                        # the export's name; the first export is also the default
 * backend = "file base.img"            # as on the command line, or ["file", "/a path/with spaces"]
 * layers = ["log:file=io.log", "cow"]  # optional, top-down
 * description = "Base image"           # optional
 * read-only = false                    # optional
 * </pre>
 */
final class ExportConfig {

    private static final Set<String> KEYS = Set.of("backend", "layers", "description", "read-only");
    private static final String PREFIX = "export.";

    private ExportConfig() {
    }

    static List<ExportSpec> read(Path file) throws IOException {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("config file " + file + " does not exist");
        }
        return parse(file.toString(), text);
    }

    static List<ExportSpec> parse(String source, String text) {
        Map<String, Map<String, Object>> tables = TomlSubset.parse(source, text);
        if (!tables.get("").isEmpty()) {
            throw new IllegalArgumentException(source + ": keys must be inside an [export.NAME] table");
        }
        List<ExportSpec> exports = new ArrayList<>();
        for (var entry : tables.entrySet()) {
            String table = entry.getKey();
            if (table.isEmpty()) {
                continue;
            }
            if (!table.startsWith(PREFIX) || table.length() == PREFIX.length()) {
                throw new IllegalArgumentException(source + ": unknown table [" + table + "]; expected [export.NAME]");
            }
            exports.add(export(source, table.substring(PREFIX.length()), entry.getValue()));
        }
        if (exports.isEmpty()) {
            throw new IllegalArgumentException(source + ": no [export.NAME] table");
        }
        return exports;
    }

    private static ExportSpec export(String source, String name, Map<String, Object> values) {
        String where = source + ": [export." + name + "]";
        for (String key : values.keySet()) {
            if (!KEYS.contains(key)) {
                throw new IllegalArgumentException(where + ": unknown key '" + key + "'; accepted: "
                        + String.join(", ", KEYS.stream().sorted().toList()));
            }
        }
        Object backend = values.get("backend");
        List<String> words = switch (backend) {
            case null -> throw new IllegalArgumentException(where + ": 'backend' is missing");
            case String s -> Arrays.asList(s.strip().split("\\s+"));
            case List<?> list -> strings(where, "backend", list);
            default -> throw new IllegalArgumentException(where + ": 'backend' must be a string or an array of strings");
        };
        List<String> layers = switch (values.get("layers")) {
            case null -> List.of();
            case List<?> list -> strings(where, "layers", list);
            default -> throw new IllegalArgumentException(where + ": 'layers' must be an array of strings");
        };
        String description = switch (values.get("description")) {
            case null -> null;
            case String s -> s;
            default -> throw new IllegalArgumentException(where + ": 'description' must be a string");
        };
        boolean readOnly = switch (values.get("read-only")) {
            case null -> false;
            case Boolean b -> b;
            default -> throw new IllegalArgumentException(where + ": 'read-only' must be true or false");
        };
        return new ExportSpec(name, description, BackendSpec.parse(words), layers, readOnly);
    }

    private static List<String> strings(String where, String key, List<?> list) {
        List<String> out = new ArrayList<>();
        for (Object item : list) {
            if (!(item instanceof String s)) {
                throw new IllegalArgumentException(where + ": '" + key + "' must hold only strings");
            }
            out.add(s);
        }
        return out;
    }
}
