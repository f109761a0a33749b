package dev.sprout.bench;

import dev.sprout.nbd.NbdError;
import dev.sprout.nbd.TransmissionReplies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/** {@link TransmissionReplies}: the reply headers and chunks written for every request. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class TransmissionRepliesBench {

    /** Descriptors in one BLOCK_STATUS chunk: a single extent, a typical map piece, the backend's maximum. */
    @State(Scope.Thread)
    public static class Descriptors {
        @Param({"1", "64", "1024"})
        int count;
    }

    private ByteBuffer out;
    private long cookie;

    @Setup
    public void setup() {
        out = ByteBuffer.allocateDirect(64 << 10);
    }

    /** A simple reply (no structured replies negotiated): READ/WRITE/FLUSH answers. */
    @Benchmark
    public ByteBuffer simpleReply() {
        out.clear();
        TransmissionReplies.simple(out, null, ++cookie);
        return out;
    }

    /** The header in front of a structured READ's data. */
    @Benchmark
    public ByteBuffer offsetDataHeader() {
        out.clear();
        TransmissionReplies.offsetDataHeader(out, true, ++cookie, 1L << 30, 4096);
        return out;
    }

    @Benchmark
    public ByteBuffer offsetHole() {
        out.clear();
        TransmissionReplies.offsetHole(out, false, ++cookie, 1L << 30, 65536);
        return out;
    }

    @Benchmark
    public ByteBuffer noneChunk() {
        out.clear();
        TransmissionReplies.none(out, ++cookie);
        return out;
    }

    /** A BLOCK_STATUS chunk with {@code count} descriptors, alternating data and hole. */
    @Benchmark
    public ByteBuffer blockStatus(Descriptors d) {
        out.clear();
        TransmissionReplies.blockStatusHeader(out, true, ++cookie, 1, d.count);
        for (int i = 0; i < d.count; i++) {
            TransmissionReplies.blockStatusDescriptor(out, 65536, (i & 1) == 0 ? 0
                    : TransmissionReplies.STATE_HOLE | TransmissionReplies.STATE_ZERO);
        }
        return out;
    }

    @Benchmark
    public ByteBuffer errorChunk() {
        out.clear();
        TransmissionReplies.error(out, ++cookie, NbdError.EINVAL, "request past the end of the export");
        return out;
    }
}
