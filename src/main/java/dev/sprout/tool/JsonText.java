package dev.sprout.tool;

import java.util.List;
import java.util.Map;

/** Writes maps, lists, strings, numbers and booleans as JSON, one list element per line. */
public final class JsonText {

    private JsonText() {
    }

    public static String write(Object value) {
        StringBuilder out = new StringBuilder();
        append(out, value, true);
        return out.append('\n').toString();
    }

    private static void append(StringBuilder out, Object value, boolean top) {
        switch (value) {
            case null -> out.append("null");
            case Map<?, ?> map -> {
                out.append('{');
                String separator = "";
                for (Map.Entry<?, ?> entry : map.entrySet()) {
                    out.append(separator);
                    quote(out, String.valueOf(entry.getKey()));
                    out.append(": ");
                    append(out, entry.getValue(), false);
                    separator = ", ";
                }
                out.append('}');
            }
            case List<?> list -> {
                out.append('[');
                String separator = top ? "\n" : "";
                for (Object element : list) {
                    out.append(separator);
                    append(out, element, false);
                    separator = top ? ",\n" : ", ";
                }
                out.append(top && !list.isEmpty() ? "\n]" : "]");
            }
            case Number number -> out.append(number);
            case Boolean bool -> out.append(bool);
            default -> quote(out, value.toString());
        }
    }

    private static void quote(StringBuilder out, String text) {
        out.append('"');
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
