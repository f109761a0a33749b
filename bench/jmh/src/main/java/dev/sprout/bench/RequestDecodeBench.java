package dev.sprout.bench;

import dev.sprout.nbd.ProtocolException;
import dev.sprout.nbd.Request;
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

/** {@link Request#decode}: the 28-byte request header every transmission request starts with. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class RequestDecodeBench {

    /** NBD_CMD_READ, NBD_CMD_WRITE, NBD_CMD_BLOCK_STATUS. */
    @Param({"0", "1", "7"})
    int type;

    /** Heap or direct: the server reads headers into a direct buffer. */
    @Param({"direct"})
    String buffer;

    private ByteBuffer header;

    @Setup
    public void setup() {
        header = "direct".equals(buffer) ? ByteBuffer.allocateDirect(Request.HEADER_SIZE)
                : ByteBuffer.allocate(Request.HEADER_SIZE);
        Request.encode(header, type, 0, 0x1234_5678_9abc_def0L, 123L << 12, 4096);
        header.flip();
    }

    @Benchmark
    public Request decode() throws ProtocolException {
        header.position(0);
        return Request.decode(header);
    }

    /** Decode plus the type switch the server does next (sealed-interface pattern match). */
    @Benchmark
    public String decodeAndDispatch() throws ProtocolException {
        header.position(0);
        return Request.name(Request.decode(header));
    }
}
