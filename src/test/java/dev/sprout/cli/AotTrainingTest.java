package dev.sprout.cli;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class AotTrainingTest {

    @Test
    void splitsCommandLinesAtPlusSigns() {
        assertThat(AotTraining.split("copy", "a", "b", "+", "map", "a", "+", "+", "info", "nbd://x"))
                .containsExactly(List.of("copy", "a", "b"), List.of("map", "a"), List.of("info", "nbd://x"));
        assertThat(AotTraining.split()).isEmpty();
    }
}
