package dev.sprout.block;

import java.io.Closeable;
import java.io.IOException;

/** Closing several devices (connections, layers of a chain) so that one failure stops none of the others. */
public final class Closing {

    private Closing() {
    }

    /** Closes every one, even when some fail; the first failure is thrown, the later ones suppressed in it. */
    public static void all(Iterable<? extends Closeable> resources) throws IOException {
        IOException first = null;
        for (Closeable resource : resources) {
            try {
                resource.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** Closes every one after {@code failure}, which stays the error to report: their failures are suppressed in it. */
    public static void allAfter(Throwable failure, Iterable<? extends Closeable> resources) {
        for (Closeable resource : resources) {
            try {
                resource.close();
            } catch (IOException e) {
                failure.addSuppressed(e);
            }
        }
    }
}
