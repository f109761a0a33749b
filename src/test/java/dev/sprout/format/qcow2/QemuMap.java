package dev.sprout.format.qcow2;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses {@code qemu-img map --output=json}: a list of flat objects of numbers and booleans. */
final class QemuMap {

    private static final Pattern OBJECT = Pattern.compile("\\{([^}]*)}");
    private static final Pattern FIELD = Pattern.compile("\"([a-z-]+)\"\\s*:\\s*(true|false|-?\\d+)");

    private QemuMap() {
    }

    static List<Map<String, Object>> parse(String json) {
        List<Map<String, Object>> objects = new ArrayList<>();
        Matcher object = OBJECT.matcher(json);
        while (object.find()) {
            Map<String, Object> fields = new LinkedHashMap<>();
            Matcher field = FIELD.matcher(object.group(1));
            while (field.find()) {
                String value = field.group(2);
                fields.put(field.group(1), value.equals("true") || value.equals("false")
                        ? (Object) Boolean.valueOf(value) : (Object) Long.valueOf(value));
            }
            objects.add(fields);
        }
        return objects;
    }
}
