package dev.sprout.client;

import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NbdUriTest {

    @Test
    void tcpUriNamesHostPortAndExport() {
        NbdUri uri = NbdUri.parse("nbd://example.org:10810/disk%20one");
        InetSocketAddress address = (InetSocketAddress) uri.address();
        assertThat(address.getHostString()).isEqualTo("example.org");
        assertThat(address.getPort()).isEqualTo(10810);
        assertThat(uri.export()).isEqualTo("disk one");
    }

    @Test
    void tcpUriWithoutPortOrExportUsesTheDefaults() {
        NbdUri uri = NbdUri.parse("nbd://localhost");
        assertThat(((InetSocketAddress) uri.address()).getPort()).isEqualTo(NbdUri.DEFAULT_PORT);
        assertThat(uri.export()).isEmpty();
    }

    @Test
    void unixUriTakesTheSocketFromTheQuery() {
        NbdUri uri = NbdUri.parse("nbd+unix:///exp?socket=/tmp/a%20b/s.sock");
        assertThat(((UnixDomainSocketAddress) uri.address()).getPath()).isEqualTo(Path.of("/tmp/a b/s.sock"));
        assertThat(uri.export()).isEqualTo("exp");
        assertThat(NbdUri.parse("nbd+unix://?socket=/s").export()).isEmpty();
    }

    @Test
    void refusesTlsMissingSocketAndOtherSchemesNamingTheUri() {
        assertThatThrownBy(() -> NbdUri.parse("nbds://host/x")).hasMessageContaining("nbds://host/x").hasMessageContaining("TLS");
        assertThatThrownBy(() -> NbdUri.parse("nbd+unix:///x")).hasMessageContaining("socket=");
        assertThatThrownBy(() -> NbdUri.parse("http://x/")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void tellsUrisFromPaths() {
        assertThat(NbdUri.looksLike("nbd://h/")).isTrue();
        assertThat(NbdUri.looksLike("nbd+unix:///?socket=s")).isTrue();
        assertThat(NbdUri.looksLike("/tmp/nbd.img")).isFalse();
    }
}
