package dev.sprout.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A reader for the part of TOML that export files use: {@code [table.names]} headers,
 * {@code key = value} lines with strings ("basic" with escapes, 'literal'), integers, booleans and
 * one-line arrays of those, and {@code #} comments. Anything else is an error that names the line.
 */
final class TomlSubset {

    /** A parse failure at a line. */
    static final class TomlException extends IllegalArgumentException {
        TomlException(String source, int line, String message) {
            super(source + ":" + line + ": " + message);
        }
    }

    private final String source;
    private int lineNumber;

    private TomlSubset(String source) {
        this.source = source;
    }

    /** Tables by dotted name (the root table is ""), each an ordered map of key to value. */
    static Map<String, Map<String, Object>> parse(String source, String text) {
        return new TomlSubset(source).read(text);
    }

    private Map<String, Map<String, Object>> read(String text) {
        Map<String, Map<String, Object>> tables = new LinkedHashMap<>();
        Map<String, Object> current = new LinkedHashMap<>();
        tables.put("", current);
        for (String raw : text.split("\r?\n", -1)) {
            lineNumber++;
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("[")) {
                String name = tableName(line);
                if (tables.containsKey(name)) {
                    throw error("table [" + name + "] appears twice");
                }
                current = new LinkedHashMap<>();
                tables.put(name, current);
                continue;
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw error("expected 'key = value' or '[table]'");
            }
            String key = unquoteKey(line.substring(0, eq).strip());
            Cursor cursor = new Cursor(line, eq + 1);
            Object value = value(cursor);
            cursor.skipSpace();
            if (!cursor.atEnd() && cursor.peek() != '#') {
                throw error("unexpected text after the value of '" + key + "'");
            }
            if (current.put(key, value) != null) {
                throw error("key '" + key + "' appears twice in this table");
            }
        }
        return tables;
    }

    private String tableName(String line) {
        int close = line.indexOf(']');
        if (line.startsWith("[[") || close < 0) {
            throw error("expected a table header such as [export.name]");
        }
        String rest = line.substring(close + 1).strip();
        if (!rest.isEmpty() && !rest.startsWith("#")) {
            throw error("unexpected text after the table header");
        }
        List<String> parts = new ArrayList<>();
        for (String part : line.substring(1, close).split("\\.", -1)) {
            String name = unquoteKey(part.strip());
            if (name.isEmpty()) {
                throw error("empty name in table header");
            }
            parts.add(name);
        }
        return String.join(".", parts);
    }

    private String unquoteKey(String key) {
        if (key.length() >= 2 && (key.startsWith("\"") && key.endsWith("\"") || key.startsWith("'") && key.endsWith("'"))) {
            return key.substring(1, key.length() - 1);
        }
        if (!key.matches("[A-Za-z0-9_-]+")) {
            throw error("invalid key '" + key + "' (quote it if it has other characters)");
        }
        return key;
    }

    private Object value(Cursor c) {
        c.skipSpace();
        if (c.atEnd()) {
            throw error("missing value");
        }
        char ch = c.peek();
        if (ch == '"') {
            return basicString(c);
        }
        if (ch == '\'') {
            c.next();
            int end = c.text.indexOf('\'', c.pos);
            if (end < 0) {
                throw error("unterminated string");
            }
            String s = c.text.substring(c.pos, end);
            c.pos = end + 1;
            return s;
        }
        if (ch == '[') {
            c.next();
            List<Object> items = new ArrayList<>();
            while (true) {
                c.skipSpace();
                if (c.atEnd()) {
                    throw error("unterminated array (arrays must fit on one line)");
                }
                if (c.peek() == ']') {
                    c.next();
                    return items;
                }
                items.add(value(c));
                c.skipSpace();
                if (!c.atEnd() && c.peek() == ',') {
                    c.next();
                }
            }
        }
        int start = c.pos;
        while (!c.atEnd() && " \t,]#".indexOf(c.peek()) < 0) {
            c.next();
        }
        String word = c.text.substring(start, c.pos);
        return switch (word) {
            case "true" -> true;
            case "false" -> false;
            default -> {
                try {
                    yield Long.parseLong(word.replace("_", ""));
                } catch (NumberFormatException e) {
                    throw error("invalid value '" + word + "' (strings need quotes)");
                }
            }
        };
    }

    private String basicString(Cursor c) {
        c.next();
        StringBuilder out = new StringBuilder();
        while (true) {
            if (c.atEnd()) {
                throw error("unterminated string");
            }
            char ch = c.next();
            if (ch == '"') {
                return out.toString();
            }
            if (ch != '\\') {
                out.append(ch);
                continue;
            }
            if (c.atEnd()) {
                throw error("unterminated escape");
            }
            char escape = c.next();
            switch (escape) {
                case 'n' -> out.append('\n');
                case 't' -> out.append('\t');
                case '"' -> out.append('"');
                case '\\' -> out.append('\\');
                default -> throw error("unsupported escape \\" + escape);
            }
        }
    }

    private TomlException error(String message) {
        return new TomlException(source, lineNumber, message);
    }

    /** A position in one line. */
    private static final class Cursor {
        final String text;
        int pos;

        Cursor(String text, int pos) {
            this.text = text;
            this.pos = pos;
        }

        boolean atEnd() {
            return pos >= text.length();
        }

        char peek() {
            return text.charAt(pos);
        }

        char next() {
            return text.charAt(pos++);
        }

        void skipSpace() {
            while (!atEnd() && (peek() == ' ' || peek() == '\t')) {
                pos++;
            }
        }
    }
}
