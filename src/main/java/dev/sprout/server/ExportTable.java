package dev.sprout.server;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The exports a server offers, by name. The first one is also served under the empty name. */
public final class ExportTable {

    private final Map<String, Export> byName = new LinkedHashMap<>();
    private final Export defaultExport;

    public ExportTable(List<Export> exports) {
        if (exports.isEmpty()) {
            throw new IllegalArgumentException("a server needs at least one export");
        }
        for (Export export : exports) {
            if (byName.putIfAbsent(export.name(), export) != null) {
                throw new IllegalArgumentException("export name '" + export.name() + "' is used twice");
            }
        }
        this.defaultExport = exports.getFirst();
    }

    /** The export a client asked for; the empty name means the default export. */
    public Optional<Export> find(String name) {
        if (name.isEmpty()) {
            return Optional.of(defaultExport);
        }
        return Optional.ofNullable(byName.get(name));
    }

    public List<Export> all() {
        return List.copyOf(byName.values());
    }
}
