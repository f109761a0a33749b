package dev.sprout.os;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.SocketChannel;
import java.util.Optional;

/**
 * The descriptor of a connected {@link SocketChannel}, for what NIO cannot do with a socket:
 * peek at the bytes waiting in it, and splice(2) them into a {@link KernelPipe} or out of one.
 *
 * <p>NIO does not give a channel's descriptor away. The JDK's socket channels answer
 * {@code sun.nio.ch.SelChImpl.getFDVal()}, which is reachable when java.base exports
 * {@code sun.nio.ch} to sprout: the jar's manifest says {@code Add-Exports: java.base/sun.nio.ch}
 * (honoured for {@code java -jar}), and the launcher's options for the image tools and the test
 * runs pass {@code --add-exports}. Without it {@link #of} finds nothing and callers keep to NIO.
 *
 * <p>The descriptor stays as NIO keeps it: blocking, unless a virtual thread's I/O made it
 * non-blocking. The calls here block as NIO's own would (a peek waits for a byte, a splice into a
 * socket for room), and where one says EAGAIN they wait in ppoll(2), at most {@link
 * #WAIT_SLICE_MS} at a time, checking in between that the channel is still open.
 */
public final class SocketDescriptor {

    private static final int MSG_PEEK = 2;
    static final short POLLIN = 1;
    static final short POLLOUT = 4;
    /** How long one wait for the socket lasts before the channel is checked for being closed. */
    static final long WAIT_SLICE_MS = 200;
    /** {@code sun.nio.ch.SelChImpl.getFDVal()} as a handle, or null when the JDK does not allow it. */
    private static final MethodHandle FD_VAL = findFdVal();

    private final SocketChannel channel;
    private final int fd;

    private SocketDescriptor(SocketChannel channel, int fd) {
        this.channel = channel;
        this.fd = fd;
    }

    /**
     * The descriptor of {@code channel}; empty when native calls are unavailable or the JDK keeps
     * it to itself (see the class comment).
     */
    public static Optional<SocketDescriptor> of(SocketChannel channel) {
        if (FD_VAL == null || !LibC.available()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new SocketDescriptor(channel, (int) FD_VAL.invoke(channel)));
        } catch (Throwable e) {
            return Optional.empty(); // not a channel of the JDK's own kind
        }
    }

    private static MethodHandle findFdVal() {
        try {
            Class<?> selectable = Class.forName("sun.nio.ch.SelChImpl");
            MethodHandle handle = MethodHandles.lookup()
                    .findVirtual(selectable, "getFDVal", MethodType.methodType(int.class));
            return handle.asType(MethodType.methodType(int.class, SocketChannel.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null; // java.base does not export sun.nio.ch here
        }
    }

    /** The descriptor number, valid while the channel is open. */
    int fd() {
        return fd;
    }

    /**
     * Copies the first bytes waiting in the socket, at most {@code n}, into {@code into} (native
     * memory) without taking them out, waiting for at least one; returns how many.
     */
    public int peek(MemorySegment into, int n) throws IOException {
        long address = LibC.pointer(into);
        while (true) {
            long result = LibC.callOrError(Syscall.RECVFROM, fd, address, Math.min(n, into.byteSize()), MSG_PEEK, 0, 0);
            if (result > 0) {
                return (int) result;
            }
            if (result == 0) {
                throw new EOFException("connection closed by the server");
            }
            awaitReady(result, POLLIN, "recvfrom(MSG_PEEK)");
        }
    }

    /**
     * After a call that returned {@code result} < 0 (the errno negated): returns at once on EINTR,
     * waits until the socket is ready for {@code events} on EAGAIN, and throws otherwise.
     */
    void awaitReady(long result, short events, String call) throws IOException {
        int errno = (int) -result;
        if (errno == NativeException.EINTR) {
            return;
        }
        if (errno != NativeException.EAGAIN) {
            throw new NativeException(call, "socket " + fd, errno);
        }
        await(fd, events, WAIT_SLICE_MS);
    }

    /**
     * Waits up to {@code millis} for {@code descriptor} (this socket's, or a pipe's end) to be ready
     * for {@code events}; throws once the channel is closed. Returns whether it was ready.
     */
    boolean await(int descriptor, short events, long millis) throws IOException {
        if (!channel.isOpen()) {
            throw new AsynchronousCloseException();
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pollfd = arena.allocate(8, 4);
            pollfd.set(ValueLayout.JAVA_INT, 0, descriptor);
            pollfd.set(ValueLayout.JAVA_SHORT, 4, events);
            MemorySegment timeout = arena.allocate(16, 8);
            timeout.set(ValueLayout.JAVA_LONG, 0, millis / 1000);
            timeout.set(ValueLayout.JAVA_LONG, 8, millis % 1000 * 1_000_000);
            long ready = LibC.callOrError(Syscall.PPOLL, LibC.pointer(pollfd), 1, LibC.pointer(timeout), 0, 0, 0);
            if (ready < 0 && ready != -NativeException.EINTR) {
                throw new NativeException("ppoll", "descriptor " + descriptor, (int) -ready);
            }
            return ready > 0;
        }
    }

    /** Whether {@code descriptor} is ready for {@code events} now, without waiting. */
    boolean readyNow(int descriptor, short events) throws IOException {
        return await(descriptor, events, 0);
    }

    @Override
    public String toString() {
        return "socket " + fd;
    }
}
