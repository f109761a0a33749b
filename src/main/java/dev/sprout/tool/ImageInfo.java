package dev.sprout.tool;

import dev.sprout.backend.HostBlockDevice;
import dev.sprout.block.BlockDevice;
import dev.sprout.client.ExportInfo;
import dev.sprout.client.NbdBlockDevice;
import dev.sprout.format.qcow2.Qcow2Image;
import dev.sprout.format.qcow2.Qcow2Info;
import dev.sprout.nbd.TransmissionFlag;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** What {@code sprout info} shows: for every kind of image, its format and size, then what is particular to it. */
public final class ImageInfo {

    private ImageInfo() {
    }

    /** The facts about an opened image, in display order. */
    public static Map<String, Object> describe(String name, BlockDevice device) throws IOException {
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("image", name);
        switch (device) {
            case NbdBlockDevice nbd -> nbd(facts, nbd);
            case Qcow2Image qcow2 -> qcow2(facts, qcow2.info());
            case HostBlockDevice host -> {
                facts.put("format", "raw");
                facts.put("virtual_size", host.size());
                facts.put("block_device", true);
                facts.put("logical_block_size", host.logicalBlockSize());
                facts.put("discard_zeroes", host.discardZeroes());
            }
            default -> {
                facts.put("format", "raw");
                facts.put("virtual_size", device.size());
                facts.put("allocated_bytes", ExtentMap.allocated(ExtentMap.of(device)));
            }
        }
        return facts;
    }

    private static void nbd(Map<String, Object> facts, NbdBlockDevice device) {
        ExportInfo info = device.info();
        facts.put("format", "nbd");
        facts.put("virtual_size", info.size());
        facts.put("structured_replies", info.structuredReplies());
        // Every context the server offers, as nbdinfo lists them; what was negotiated if it lists none.
        facts.put("contexts", info.offeredContexts().isEmpty() ? info.contexts() : info.offeredContexts());
        facts.put("block_size_minimum", info.minimumBlock());
        facts.put("block_size_preferred", info.preferredBlock());
        facts.put("block_size_maximum", info.maximumBlock());
        facts.put("is_read_only", info.has(TransmissionFlag.READ_ONLY));
        facts.put("is_rotational", info.has(TransmissionFlag.ROTATIONAL));
        facts.put("can_flush", info.has(TransmissionFlag.SEND_FLUSH));
        facts.put("can_fua", info.has(TransmissionFlag.SEND_FUA));
        facts.put("can_trim", info.has(TransmissionFlag.SEND_TRIM));
        facts.put("can_zero", info.has(TransmissionFlag.SEND_WRITE_ZEROES));
        facts.put("can_fast_zero", info.has(TransmissionFlag.SEND_FAST_ZERO));
        facts.put("can_df", info.has(TransmissionFlag.SEND_DF));
        facts.put("can_cache", info.has(TransmissionFlag.SEND_CACHE));
        facts.put("can_multi_conn", info.has(TransmissionFlag.CAN_MULTI_CONN));
        facts.put("transmission_flags", String.format(Locale.ROOT, "0x%04x", info.flags()));
    }

    private static void qcow2(Map<String, Object> facts, Qcow2Info info) {
        facts.put("format", "qcow2");
        facts.put("version", info.version());
        facts.put("virtual_size", info.virtualSize());
        facts.put("cluster_size", info.clusterSize());
        facts.put("compression_type", info.compressionType());
        facts.put("refcount_bits", info.refcountBits());
        facts.put("lazy_refcounts", info.lazyRefcounts());
        facts.put("dirty", info.dirty());
        facts.put("corrupt", info.corrupt());
        facts.put("allocated_bytes", info.allocatedBytes());
        facts.put("file_bytes", info.fileBytes());
        info.backingFile().ifPresent(b -> facts.put("backing_file", b));
        info.backingFormat().ifPresent(b -> facts.put("backing_format", b));
        info.externalBacking().ifPresent(d -> facts.put("backing", "supplied externally: a cow layer's lower device ("
                + d + " when created); serve with --layer cow:overlay=" + info.file() + " over it"));
        if (!info.backingChain().isEmpty()) {
            facts.put("backing_chain", info.backingChain());
        }
    }

    /** "key: value" lines. */
    public static String text(Map<String, Object> facts) {
        StringBuilder out = new StringBuilder();
        facts.forEach((key, value) -> out.append(key).append(": ").append(value).append('\n'));
        return out.toString();
    }
}
