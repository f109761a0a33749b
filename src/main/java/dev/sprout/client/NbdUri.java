package dev.sprout.client;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * Where an NBD export is, from the URIs libnbd and qemu accept
 * (github.com/NetworkBlockDevice/nbd/blob/master/doc/uri.md): {@code nbd://host[:port]/export}
 * and {@code nbd+unix:///export?socket=PATH}.
 *
 * @param address the server's TCP or Unix socket address
 * @param export  the export name, empty for the default export
 * @param text    the URI as given, for messages
 */
public record NbdUri(SocketAddress address, String export, String text) {

    /** The IANA-assigned NBD port. */
    public static final int DEFAULT_PORT = 10809;

    /** Whether {@code text} looks like an NBD URI rather than a path. */
    public static boolean looksLike(String text) {
        return text.startsWith("nbd://") || text.startsWith("nbd+unix://") || text.startsWith("nbds");
    }

    /** Parses {@code text}; an unsupported or malformed URI is an {@link IllegalArgumentException} naming it. */
    public static NbdUri parse(String text) {
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("malformed NBD URI " + text + ": " + e.getReason());
        }
        String scheme = String.valueOf(uri.getScheme());
        String export = export(uri);
        return switch (scheme) {
            case "nbd" -> {
                if (uri.getHost() == null) {
                    throw new IllegalArgumentException("NBD URI " + text + " has no host");
                }
                int port = uri.getPort() < 0 ? DEFAULT_PORT : uri.getPort();
                yield new NbdUri(InetSocketAddress.createUnresolved(uri.getHost(), port), export, text);
            }
            case "nbd+unix" -> new NbdUri(UnixDomainSocketAddress.of(socket(uri, text)), export, text);
            default -> throw new IllegalArgumentException("unsupported URI scheme '" + scheme + "' in " + text
                    + " (supported: nbd://host:port/export, nbd+unix:///export?socket=PATH; no TLS)");
        };
    }

    private static String export(URI uri) {
        String path = uri.getRawPath() == null ? "" : uri.getRawPath();
        String name = path.startsWith("/") ? path.substring(1) : path;
        return URLDecoder.decode(name.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static String socket(URI uri, String text) {
        String query = uri.getRawQuery();
        if (query != null) {
            for (String parameter : query.split("&")) {
                if (parameter.startsWith("socket=")) {
                    return URLDecoder.decode(parameter.substring("socket=".length()).replace("+", "%2B"),
                            StandardCharsets.UTF_8);
                }
            }
        }
        throw new IllegalArgumentException("NBD URI " + text + " needs ?socket=PATH");
    }

    @Override
    public String toString() {
        return text;
    }
}
