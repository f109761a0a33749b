package dev.sprout.format.qcow2;

import java.io.IOException;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Striped read-write locks by guest cluster: reads and in-place writes share a cluster's lock,
 * mapping changes (allocation, copy-on-write, zeroing) hold it alone, so a host cluster is never
 * read or written after the mapping dropped it. Unrelated clusters rarely share a stripe.
 */
final class ClusterLocks {

    private static final int STRIPES = 1024;

    /** The most clusters {@link #sharedGet(long, int, Query)} locks at once. */
    static final int MAX_SHARED = STRIPES;

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
        Lock lock = stripes[(int) Math.floorMod(cluster, STRIPES)].readLock();
        lock.lock();
        try {
            return query.get();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Answers {@code query} under the shared locks of clusters {@code first} to
     * {@code first + count - 1} (at most {@link #MAX_SHARED}). They are taken in stripe order, so
     * that readers of overlapping ranges never wait for each other in a cycle (a reader waits behind
     * a queued writer, and writers hold one cluster's lock only).
     */
    <T> T sharedGet(long first, int count, Query<T> query) throws IOException {
        if (count < 1 || count > MAX_SHARED) {
            throw new IllegalArgumentException("locking " + count + " clusters at once");
        }
        int from = (int) Math.floorMod(first, STRIPES);
        int to = Math.min(STRIPES, from + count);
        int wrapped = from + count - to; // stripes 0 to wrapped - 1, below from
        lockShared(0, wrapped);
        lockShared(from, to);
        try {
            return query.get();
        } finally {
            unlockShared(from, to);
            unlockShared(0, wrapped);
        }
    }

    private void lockShared(int from, int to) {
        for (int i = from; i < to; i++) {
            stripes[i].readLock().lock();
        }
    }

    private void unlockShared(int from, int to) {
        for (int i = to - 1; i >= from; i--) {
            stripes[i].readLock().unlock();
        }
    }

    void exclusive(long cluster, Action action) throws IOException {
        Lock lock = stripes[(int) Math.floorMod(cluster, STRIPES)].writeLock();
        lock.lock();
        try {
            action.run();
        } finally {
            lock.unlock();
        }
    }
}
