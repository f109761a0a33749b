package dev.sprout.nbd;

import java.io.IOException;

/** The peer broke the framing of the protocol; the byte stream can no longer be trusted. */
public final class ProtocolException extends IOException {

    public ProtocolException(String message) {
        super(message);
    }
}
