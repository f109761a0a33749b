package dev.sprout.layer;

import dev.sprout.block.ByteSize;
import dev.sprout.block.Errno;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code key=value,...} parameters of one layer as written after {@code --layer NAME:}, with
 * typed accessors. Every mistake is an {@link IllegalArgumentException} naming the layer, the
 * parameter and what would have been accepted.
 */
public final class LayerParameters {

    private final String layer;
    private final Map<String, String> values;

    private LayerParameters(String layer, Map<String, String> values) {
        this.layer = layer;
        this.values = values;
    }

    /**
     * Parses {@code a=1,b=2}. A piece without {@code =} continues the previous value, so lists
     * read naturally: {@code ops=read,write,errno=EIO} gives ops="read,write".
     */
    public static LayerParameters parse(String layer, String text) {
        Map<String, String> values = new LinkedHashMap<>();
        String key = null;
        for (String piece : text.isEmpty() ? new String[0] : text.split(",", -1)) {
            int eq = piece.indexOf('=');
            if (eq > 0) {
                key = piece.substring(0, eq).strip();
                if (values.put(key, piece.substring(eq + 1).strip()) != null) {
                    throw new IllegalArgumentException("layer '" + layer + "': parameter '" + key + "' given twice");
                }
            } else if (key != null && !piece.isBlank()) {
                values.merge(key, piece.strip(), (a, b) -> a + "," + b);
            } else {
                throw new IllegalArgumentException("layer '" + layer + "': expected key=value, got '" + piece + "'");
            }
        }
        return new LayerParameters(layer, values);
    }

    /** Fails unless every given key is one of {@code accepted}. */
    public LayerParameters accept(String... accepted) {
        Set<String> known = new TreeSet<>(List.of(accepted));
        for (String key : values.keySet()) {
            if (!known.contains(key)) {
                throw new IllegalArgumentException("layer '" + layer + "': unknown parameter '" + key + "'"
                        + (known.isEmpty() ? "; it takes none" : "; accepted: " + String.join(", ", known)));
            }
        }
        return this;
    }

    public Optional<String> string(String key) {
        return Optional.ofNullable(values.get(key));
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    /** A size such as {@code 64K}. */
    public Optional<Long> size(String key) {
        return string(key).map(v -> parse(key, v, "a size such as 4096 or 64K", ByteSize::parse));
    }

    /** A non-negative whole number. */
    public Optional<Long> number(String key) {
        return string(key).map(v -> parse(key, v, "a whole number", s -> {
            long n = Long.parseLong(s);
            if (n < 0) {
                throw new IllegalArgumentException();
            }
            return n;
        }));
    }

    /** Milliseconds, written as {@code 10}, {@code 10ms}, {@code 1.5s} or {@code 2us}. */
    public Optional<Long> nanos(String key) {
        return string(key).map(v -> parse(key, v, "a duration such as 10, 10ms, 1.5s or 250us", s -> {
            String t = s.toLowerCase(Locale.ROOT);
            double scale = 1e6;
            if (t.endsWith("ms")) {
                t = t.substring(0, t.length() - 2);
            } else if (t.endsWith("us")) {
                t = t.substring(0, t.length() - 2);
                scale = 1e3;
            } else if (t.endsWith("s")) {
                t = t.substring(0, t.length() - 1);
                scale = 1e9;
            }
            double value = Double.parseDouble(t);
            if (value < 0 || Double.isNaN(value) || Double.isInfinite(value)) {
                throw new IllegalArgumentException();
            }
            return Math.round(value * scale);
        }));
    }

    /** A percentage from 0 to 100 with an optional {@code %}; fractions allowed. */
    public Optional<Double> percent(String key) {
        return string(key).map(v -> parse(key, v, "a percentage from 0 to 100 such as 5, 0.1 or 100%", s -> {
            double p = Double.parseDouble(s.endsWith("%") ? s.substring(0, s.length() - 1) : s);
            if (!(p >= 0 && p <= 100)) {
                throw new IllegalArgumentException();
            }
            return p;
        }));
    }

    public Optional<Path> path(String key) {
        return string(key).map(v -> parse(key, v, "a file path", s -> {
            if (s.isEmpty()) {
                throw new IllegalArgumentException();
            }
            return Path.of(s);
        }));
    }

    /** One of {@code accepted} error numbers, by name. */
    public Optional<Errno> errno(String key, Set<Errno> accepted) {
        return string(key).map(v -> {
            for (Errno errno : accepted) {
                if (errno.name().equalsIgnoreCase(v)) {
                    return errno;
                }
            }
            throw invalid(key, v, names(accepted));
        });
    }

    /** A list of operation names such as {@code read,write}. */
    public Optional<Set<Operation>> operations(String key) {
        return string(key).map(v -> {
            EnumSet<Operation> ops = EnumSet.noneOf(Operation.class);
            for (String name : v.split(",")) {
                ops.add(Operation.parse(name.strip()).orElseThrow(() ->
                        invalid(key, name, names(EnumSet.allOf(Operation.class)).toLowerCase(Locale.ROOT))));
            }
            return ops;
        });
    }

    private static String names(Set<? extends Enum<?>> accepted) {
        List<String> names = new ArrayList<>();
        accepted.forEach(e -> names.add(e.name()));
        return String.join(", ", names);
    }

    private interface Parser<T> {
        T parse(String text);
    }

    private <T> T parse(String key, String value, String expected, Parser<T> parser) {
        try {
            return parser.parse(value);
        } catch (RuntimeException e) {
            throw invalid(key, value, expected);
        }
    }

    private IllegalArgumentException invalid(String key, String value, String expected) {
        return new IllegalArgumentException("layer '" + layer + "': invalid " + key + "='" + value
                + "'; expected " + expected);
    }
}
