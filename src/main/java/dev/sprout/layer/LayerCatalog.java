package dev.sprout.layer;

import dev.sprout.block.BlockDevice;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Every layer by name, and how a {@code NAME[:key=value,...]} spec becomes a device wrapping
 * another. Unknown names and bad parameters fail here, at start-up, with a message that says
 * what is accepted.
 */
public final class LayerCatalog {

    /** Builds one layer over {@code in} from its parameters. */
    @FunctionalInterface
    public interface Factory {
        BlockDevice wrap(BlockDevice in, LayerParameters parameters) throws IOException;
    }

    /** The layers and their parameters, for {@code serve --help}. */
    public static final String USAGE = """
            layers (--layer NAME[:KEY=VALUE,...], top-down):
              cow[:block=SIZE,tmp=DIR]  a volatile copy-on-write overlay in memory (or an unlinked file in DIR)
              cow:overlay=FILE.qcow2    a persistent overlay: a qcow2 image whose backing is the device below,
                                        created when missing (a plain file below is recorded as its backing
                                        file, so 'serve FILE.qcow2' alone shows the same disk); an existing
                                        one must match the device below in size and backing file
              crash:trigger=PATH[,max-pending=SIZE]   a volatile write cache that loses power while PATH exists
              delay:read=|write=|...|all=DURATION     sleeps before passing requests down
              error:rate=PERCENT,errno=E,ops=LIST,trigger=PATH,ranges=A-B,seed=N   fails requests
              log[:file=PATH]           one line per request
              offset:offset=N,length=M  a window of the device below
              partition:number=N        one MBR or GPT partition
              readonly                  refuses every change with EPERM
              stats[:file=PATH,interval=SECONDS]   counts and latency percentiles per operation""";

    private static final Map<String, Factory> FACTORIES = new TreeMap<>(Map.ofEntries(
            // One entry per layer, alphabetical.
            Map.entry("cow", CopyOnWriteDevice::create),
            Map.entry("crash", CrashSimulatingDevice::create),
            Map.entry("delay", DelayingDevice::create),
            Map.entry("error", ErrorInjectingDevice::create),
            Map.entry("log", LoggingDevice::create),
            Map.entry("offset", OffsetDevice::create),
            Map.entry("partition", PartitionDevice::create),
            Map.entry("readonly", (in, p) -> {
                p.accept();
                return new ReadOnlyDevice(in);
            }),
            Map.entry("stats", StatisticsDevice::create)
    ));

    private LayerCatalog() {
    }

    /** Layers that never write to the device below them, which can then be opened read-only. */
    private static final List<String> OVERLAYS = List.of("cow");

    /** Whether a stack of {@code specs} never writes to its backend (it holds an overlay). */
    public static boolean neverWritesBelow(List<String> specs) {
        return specs.stream().map(spec -> spec.split(":", 2)[0]).anyMatch(OVERLAYS::contains);
    }

    /** The layer names, sorted. */
    public static List<String> names() {
        return List.copyOf(FACTORIES.keySet());
    }

    /** Wraps {@code in} in the layer that {@code spec} ({@code NAME[:key=value,...]}) describes. */
    public static BlockDevice wrap(String spec, BlockDevice in) throws IOException {
        int colon = spec.indexOf(':');
        String name = colon < 0 ? spec : spec.substring(0, colon);
        String parameters = colon < 0 ? "" : spec.substring(colon + 1);
        Factory factory = FACTORIES.get(name);
        if (factory == null) {
            throw new IllegalArgumentException("unknown layer '" + name + "'; known layers: "
                    + String.join(", ", names()));
        }
        return factory.wrap(in, LayerParameters.parse(name, parameters));
    }

    /**
     * Builds a stack: {@code specs} top-down (the first is what clients talk to) over
     * {@code backend}. On failure the devices built so far are closed.
     */
    public static BlockDevice stack(List<String> specs, BlockDevice backend) throws IOException {
        BlockDevice top = backend;
        try {
            for (String spec : specs.reversed()) {
                top = wrap(spec, top);
            }
            return top;
        } catch (IOException | RuntimeException e) {
            try {
                top.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }
}
