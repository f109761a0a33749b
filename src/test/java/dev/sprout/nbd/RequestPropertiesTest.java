package dev.sprout.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/** Every header value survives encode then decode: no field is read signed or truncated. */
class RequestPropertiesTest {

    @Property(tries = 500)
    void decodeInvertsEncode(@ForAll @IntRange(min = 0, max = 0xffff) int type,
                             @ForAll @IntRange(min = 0, max = 0xffff) int flags,
                             @ForAll long cookie, @ForAll long offset,
                             @ForAll @LongRange(min = 0, max = 0xFFFF_FFFFL) long length) throws ProtocolException {
        ByteBuffer wire = ByteBuffer.allocate(Request.HEADER_SIZE);
        Request.encode(wire, type, flags, cookie, offset, length);
        Request request = Request.decode(wire.flip());

        assertThat(wire.hasRemaining()).isFalse();
        assertThat(request.flags()).isEqualTo(flags);
        assertThat(request.cookie()).isEqualTo(cookie);
        assertThat(request.offset()).isEqualTo(offset);
        assertThat(request.length()).isEqualTo(length);
        if (type > 7) {
            assertThat(request).isInstanceOf(Request.Unknown.class);
            assertThat(((Request.Unknown) request).type()).isEqualTo(type);
        } else {
            assertThat(request).isNotInstanceOf(Request.Unknown.class);
        }
    }

    @Property(tries = 200)
    void anyOtherMagicIsAProtocolError(@ForAll int magic) {
        ByteBuffer wire = ByteBuffer.allocate(Request.HEADER_SIZE).putInt(magic).position(0);

        if (magic != Magic.REQUEST) {
            assertThatThrownBy(() -> Request.decode(wire)).isInstanceOf(ProtocolException.class);
        }
    }
}
