package dev.sprout.client;

import dev.sprout.nbd.TransmissionFlag;

import java.util.List;

/**
 * What the handshake learned about an export.
 *
 * @param size              the export size in bytes
 * @param flags             the transmission flags (see {@link TransmissionFlag})
 * @param minimumBlock      the minimum block size (1 if the server did not say)
 * @param preferredBlock    the preferred block size (4096 if the server did not say)
 * @param maximumBlock      the maximum payload, as the server said it (32 MiB if it did not)
 * @param structuredReplies whether the server agreed to structured replies
 * @param allocationContext the id of base:allocation, or -1 when not negotiated
 * @param contexts          the metadata contexts negotiated
 * @param offeredContexts   every metadata context the server offers for the export
 *                          (LIST_META_CONTEXT without queries); empty unless asked for
 * @param fixedNewstyle     false when the server offered only the old newstyle handshake
 * @param usedExportName    the export was chosen with NBD_OPT_EXPORT_NAME (the server refused GO)
 */
public record ExportInfo(long size, int flags, int minimumBlock, int preferredBlock, long maximumBlock,
                         boolean structuredReplies, int allocationContext, List<String> contexts, List<String> offeredContexts,
                         boolean fixedNewstyle, boolean usedExportName) {

    public boolean has(TransmissionFlag flag) {
        return flag.in(flags);
    }
}
