package dev.sprout.block;

import java.io.IOException;

/**
 * What runs once a request started without waiting ({@link AsynchronousReads}, {@link
 * AsynchronousWrites}) is done.
 */
@FunctionalInterface
public interface Completion {
    /**
     * Called once, with null when the request succeeded, or with why it did not. It runs on the
     * device's own thread (or on the caller's, when the request fails before it is sent), so it
     * must not wait for this device's replies and must not throw. It may start further requests:
     * they never wait for a free one.
     */
    void done(IOException failure);
}
