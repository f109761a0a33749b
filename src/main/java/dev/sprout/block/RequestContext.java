package dev.sprout.block;

import java.util.Optional;

/**
 * Who asked for the block operation in progress: the server binds it around every device call,
 * so a layer (the log, say) can name the client's connection and request without the device API
 * carrying them.
 *
 * @param connection the server's number for the client's connection, from 1
 * @param cookie     the client's handle for the request, as sent on the wire
 */
public record RequestContext(long connection, long cookie) {

    /** The request being served on this thread, if a server bound one. */
    public static final ScopedValue<RequestContext> CURRENT = ScopedValue.newInstance();

    public static Optional<RequestContext> current() {
        return CURRENT.isBound() ? Optional.of(CURRENT.get()) : Optional.empty();
    }
}
