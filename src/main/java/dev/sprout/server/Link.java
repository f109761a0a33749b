package dev.sprout.server;

import java.io.Closeable;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ScatteringByteChannel;
import java.nio.channels.SocketChannel;

/** The byte pipe to one client: a socket, or standard input and output. */
sealed interface Link extends Closeable {

    ScatteringByteChannel in();

    GatheringByteChannel out();

    /** Stops further reads (the reader sees end of stream) while replies can still be sent. */
    void shutdownInput() throws IOException;

    /** For logs: where the client is. */
    String peer();

    /** A TCP or Unix domain socket. */
    record Socket(SocketChannel channel) implements Link {
        public ScatteringByteChannel in() {
            return channel;
        }

        public GatheringByteChannel out() {
            return channel;
        }

        public void shutdownInput() throws IOException {
            channel.shutdownInput();
        }

        public String peer() {
            try {
                var address = channel.getRemoteAddress();
                return address == null || address.toString().isEmpty() ? "unix socket" : address.toString();
            } catch (IOException e) {
                return "closed socket";
            }
        }

        public void close() throws IOException {
            channel.close();
        }
    }

    /** Standard input and output (the -s mode nbdfuse --command uses). */
    record Stdio(ScatteringByteChannel in, GatheringByteChannel out) implements Link {
        static Stdio open() {
            return new Stdio(new FileInputStream(FileDescriptor.in).getChannel(),
                    new FileOutputStream(FileDescriptor.out).getChannel());
        }

        public void shutdownInput() throws IOException {
            in.close();
        }

        public String peer() {
            return "stdin/stdout";
        }

        public void close() throws IOException {
            try (in; out) {
                // closes both
            }
        }
    }
}
