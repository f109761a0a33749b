package dev.sprout.layer;

import java.util.Locale;
import java.util.Optional;

/** The kinds of block operation a layer can single out (which to fail, delay, count...). */
public enum Operation {
    READ, WRITE, ZERO, TRIM, FLUSH, EXTENTS, CACHE;

    /** The operation named {@code name} (any case), if there is one. */
    public static Optional<Operation> parse(String name) {
        try {
            return Optional.of(valueOf(name.toUpperCase(Locale.ROOT)));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
