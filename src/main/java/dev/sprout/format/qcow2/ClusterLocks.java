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
