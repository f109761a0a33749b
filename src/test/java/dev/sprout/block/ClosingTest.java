package dev.sprout.block;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.Closeable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ClosingTest {

    private final List<String> closed = new ArrayList<>();

    private Closeable ok(String name) {
        return () -> closed.add(name);
    }

    private Closeable failing(String name) {
        return () -> {
            closed.add(name);
            throw new IOException(name + " failed");
        };
    }

    @Test
    void allClosesEveryOneAndThrowsTheFirstFailureWithTheLaterOnesSuppressed() {
        IOException thrown = catchThrowableOfType(IOException.class,
                () -> Closing.all(List.of(ok("a"), failing("b"), ok("c"), failing("d"))));
        assertThat(closed).containsExactly("a", "b", "c", "d");
        assertThat(thrown).hasMessage("b failed");
        assertThat(thrown.getSuppressed()).extracting(Throwable::getMessage).containsExactly("d failed");
    }

    @Test
    void allAfterKeepsTheOriginalFailureAndSuppressesTheClosingOnes() {
        IllegalStateException original = new IllegalStateException("open failed");
        Closing.allAfter(original, List.of(failing("a"), ok("b")));
        assertThat(closed).containsExactly("a", "b");
        assertThat(original.getSuppressed()).extracting(Throwable::getMessage).containsExactly("a failed");
    }
}
