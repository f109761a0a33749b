package dev.sprout.server;

/**
 * What negotiation settled for one connection's transmission phase.
 *
 * @param export            the export the client chose
 * @param structuredReplies the client negotiated structured replies
 * @param allocationContext the id of base:allocation, or -1 if block status was not negotiated
 */
record Session(Export export, boolean structuredReplies, int allocationContext) {

    boolean blockStatus() {
        return allocationContext >= 0;
    }
}
