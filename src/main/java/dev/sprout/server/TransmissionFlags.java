package dev.sprout.server;

import dev.sprout.block.Capabilities;
import dev.sprout.nbd.TransmissionFlag;

import java.util.EnumSet;

/** Derives an export's NBD transmission flags from what its device stack can do. */
final class TransmissionFlags {

    private TransmissionFlags() {
    }

    static short of(Capabilities caps, boolean structuredReplies) {
        EnumSet<TransmissionFlag> flags = EnumSet.of(TransmissionFlag.HAS_FLAGS);
        if (!caps.writable()) {
            flags.add(TransmissionFlag.READ_ONLY);
        }
        if (caps.flush()) {
            flags.add(TransmissionFlag.SEND_FLUSH);
        }
        if (caps.fua()) {
            flags.add(TransmissionFlag.SEND_FUA);
        }
        if (caps.writable() && caps.trim()) {
            flags.add(TransmissionFlag.SEND_TRIM);
        }
        if (caps.writable()) {
            // Every writable device can zero, by writing zeroes if nothing better.
            flags.add(TransmissionFlag.SEND_WRITE_ZEROES);
            if (caps.fastZero()) {
                flags.add(TransmissionFlag.SEND_FAST_ZERO);
            }
        }
        if (structuredReplies) {
            flags.add(TransmissionFlag.SEND_DF);
        }
        if (caps.multiConn()) {
            flags.add(TransmissionFlag.CAN_MULTI_CONN);
        }
        if (caps.cache()) {
            flags.add(TransmissionFlag.SEND_CACHE);
        }
        return TransmissionFlag.encode(flags);
    }
}
