package dev.sprout.server;

import java.io.Closeable;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Serves an {@link ExportTable} over NBD: accepts clients on TCP and Unix sockets, or serves one
 * client on standard input and output. Every client has its own reader thread (and virtual threads
 * for its requests when its device may block); one client's failure never reaches another.
 */
public final class NbdServer implements Closeable {

    private static final System.Logger LOG = System.getLogger(NbdServer.class.getName());

    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    /**
     * Connection readers are platform threads: a reader blocked on its socket is woken by the
     * kernel directly, where a virtual thread needs the JDK's poller thread and a carrier to be
     * woken too. When requests run on the reader (non-blocking devices) that is most of the cost
     * of a small request; NBD clients open a handful of connections, not thousands.
     */
    private static final ThreadFactory CONNECTION_THREADS = Thread.ofPlatform().daemon(true).name("connection ", 1).factory();
    /**
     * A platform thread waits in accept(2), and leaves it when {@link #close} closes the listener.
     * A virtual thread would park on the JDK's poller, whose platform thread then sits in
     * epoll_wait(2) until the JVM ends; and the JVM's exit waits up to 0.3 s for threads in a
     * native call to return (VM_Exit::wait_for_threads_in_native_to_block): {@code serve --run
     * true} took 0.45 s instead of 0.15 s.
     */
    private static final ThreadFactory ACCEPT_THREADS = Thread.ofPlatform().daemon(true).name("accept ", 1).factory();

    private final ExportTable exports;
    private final BufferPool pool = new BufferPool();
    private final AtomicLong connectionIds = new AtomicLong();
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final Set<Thread> connectionThreads = ConcurrentHashMap.newKeySet();
    private final List<ServerSocketChannel> listeners = new CopyOnWriteArrayList<>();
    private final List<Path> socketFiles = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    public NbdServer(ExportTable exports) {
        this.exports = exports;
    }

    /**
     * Starts accepting clients at {@code address} (TCP, or a Unix socket path) and returns the
     * address actually bound (a TCP port of 0 picks a free port).
     */
    public SocketAddress listen(SocketAddress address) throws IOException {
        ServerSocketChannel channel;
        SocketAddress bound;
        if (address instanceof UnixDomainSocketAddress unix) {
            removeStaleSocket(unix.getPath());
            channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            bindUnix(channel, unix.getPath());
            socketFiles.add(unix.getPath());
            bound = unix;
        } else {
            channel = ServerSocketChannel.open();
            channel.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            channel.bind(address, 128);
            bound = channel.getLocalAddress();
        }
        listeners.add(channel);
        ACCEPT_THREADS.newThread(() -> acceptLoop(channel)).start();
        LOG.log(Level.INFO, "listening on {0}", bound);
        return bound;
    }

    /** Serves one client on standard input and output in the calling thread, until it leaves. */
    public void serveStdio() {
        connect(Link.Stdio.open()).run();
    }

    private void acceptLoop(ServerSocketChannel channel) {
        while (!closed) {
            try {
                SocketChannel client = channel.accept();
                if (client.getLocalAddress() instanceof InetSocketAddress) {
                    client.setOption(StandardSocketOptions.TCP_NODELAY, true);
                }
                Thread thread = CONNECTION_THREADS.newThread(connect(new Link.Socket(client)));
                connectionThreads.add(thread);
                thread.start();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                LOG.log(Level.WARNING, "accept failed: {0}", e.toString());
            }
        }
    }

    /** A connection registered for shutdown, unregistering itself when it ends. */
    private Runnable connect(Link link) {
        Connection connection = new Connection(link, exports, pool, connectionIds.incrementAndGet());
        connections.add(connection);
        return () -> {
            try {
                connection.run();
            } finally {
                connections.remove(connection);
                connectionThreads.remove(Thread.currentThread());
            }
        };
    }

    /** Stops accepting, lets every client's requests in flight finish, and closes. */
    @Override
    public void close() {
        closed = true;
        for (ServerSocketChannel listener : listeners) {
            try {
                listener.close();
            } catch (IOException e) {
                LOG.log(Level.DEBUG, "closing listener: {0}", e.toString());
            }
        }
        connections.forEach(Connection::shutdown);
        for (Thread thread : connectionThreads) {
            try {
                thread.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (Path socket : socketFiles) {
            try {
                Files.deleteIfExists(socket);
            } catch (IOException e) {
                LOG.log(Level.DEBUG, "removing {0}: {1}", socket, e.toString());
            }
        }
    }

    /**
     * Binds and listens at {@code path} so that the socket file appears only once it accepts:
     * bind(2) makes the file and listen(2) comes after, and a client that connected as soon as the
     * file appeared was refused in between (4 times in 15 starts in a tight loop). The socket is
     * bound under a temporary name beside it and renamed into place; where that name would be too
     * long for a socket address, it is bound at {@code path} directly.
     */
    private static void bindUnix(ServerSocketChannel channel, Path path) throws IOException {
        Path temporary = path.resolveSibling("." + path.getFileName() + "." + ProcessHandle.current().pid());
        try {
            Files.deleteIfExists(temporary);
            channel.bind(UnixDomainSocketAddress.of(temporary), 128);
        } catch (IOException e) {
            if (channel.getLocalAddress() != null) {
                throw e;
            }
            channel.bind(UnixDomainSocketAddress.of(path), 128); // the temporary name is too long
            return;
        }
        try {
            Files.move(temporary, path, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            Files.deleteIfExists(temporary);
            throw e;
        }
    }

    /** A socket file left by a dead server is removed; anything else at the path is an error. */
    private static void removeStaleSocket(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if ((mode & S_IFMT) != S_IFSOCK) {
            throw new IOException(path + " exists and is not a socket; refusing to replace it");
        }
        boolean live;
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
            live = true;
        } catch (IOException e) {
            live = false;
        }
        if (live) {
            throw new IOException("socket " + path + " is in use by another server");
        }
        Files.delete(path);
    }
}
