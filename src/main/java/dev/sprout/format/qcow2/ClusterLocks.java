package dev.sprout.format.qcow2;

import java.io.IOException;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;

/**
 * Striped read-write locks by guest cluster: reads and in-place writes share a cluster's lock,
 * mapping changes (allocation, copy-on-write, zeroing) hold it alone, so a host cluster is never
 * read or written after the mapping dropped it. Unrelated clusters rarely share a stripe.
 */
final class ClusterLocks {

    private static final int STRIPES = 1024;

    /** The most clusters one call locks at once: no two of them share a stripe. */
    static final int MAX_CLUSTERS = STRIPES;

    /** The locks, indexed by guest cluster modulo their count. */
    private final ReentrantReadWriteLock[] stripes = new ReentrantReadWriteLock[STRIPES];

    ClusterLocks() {
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new ReentrantReadWriteLock();
        }
    }

    /** I/O under a cluster's lock. */
    interface Action {
        void run() throws IOException;
    }

    /** I/O under a cluster's lock, with an answer. */
    interface Query<T> {
        T get() throws IOException;
    }

    void shared(long cluster, Action action) throws IOException {
        sharedGet(cluster, () -> {
            action.run();
            return true;
        });
    }

    <T> T sharedGet(long cluster, Query<T> query) throws IOException {
        return sharedGet(cluster, 1, query);
    }

    /**
     * Answers {@code query} under the shared locks of clusters {@code first} to
     * {@code first + count - 1} (at most {@link #MAX_CLUSTERS}).
     */
    <T> T sharedGet(long first, int count, Query<T> query) throws IOException {
        return underAll(first, count, ReentrantReadWriteLock::readLock, query);
    }

    void exclusive(long cluster, Action action) throws IOException {
        exclusive(cluster, 1, action);
    }

    /** Runs {@code action} under the exclusive locks of clusters {@code first} to {@code first + count - 1}. */
    void exclusive(long first, int count, Action action) throws IOException {
        underAll(first, count, ReentrantReadWriteLock::writeLock, () -> {
            action.run();
            return true;
        });
    }

    /**
     * Answers {@code query} holding one lock of each cluster's stripe, taken in stripe order by
     * every caller, so that no two callers locking several clusters ever wait for each other in a
     * cycle (and callers locking one cluster take no other lock while they hold it).
     */
    private <T> T underAll(long first, int count, Function<ReentrantReadWriteLock, Lock> kind, Query<T> query)
            throws IOException {
        if (count < 1 || count > MAX_CLUSTERS) {
            throw new IllegalArgumentException("locking " + count + " clusters at once");
        }
        int from = (int) Math.floorMod(first, STRIPES);
        int to = Math.min(STRIPES, from + count);
        int wrapped = from + count - to; // stripes 0 to wrapped - 1, below from
        lock(0, wrapped, kind);
        lock(from, to, kind);
        try {
            return query.get();
        } finally {
            unlock(from, to, kind);
            unlock(0, wrapped, kind);
        }
    }

    private void lock(int from, int to, Function<ReentrantReadWriteLock, Lock> kind) {
        for (int i = from; i < to; i++) {
            kind.apply(stripes[i]).lock();
        }
    }

    private void unlock(int from, int to, Function<ReentrantReadWriteLock, Lock> kind) {
        for (int i = to - 1; i >= from; i--) {
            kind.apply(stripes[i]).unlock();
        }
    }
}
