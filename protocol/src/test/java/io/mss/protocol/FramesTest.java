package io.mss.protocol;

import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.Ping;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FramesTest {

    @Test
    void writesVarintLengthThenBody() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Frames.write(out, ClientFrame.newBuilder().setPing(Ping.newBuilder().setTimestamp(7)).build());
        // length 4 | field 3 (ping), length 2 | field 1 (timestamp) = 7
        assertThat(out.toByteArray()).containsExactly(0x04, 0x1A, 0x02, 0x08, 0x07);
    }

    @Test
    void roundTripsSeveralFramesOnOneStream() throws IOException {
        ClientFrame hello = ClientFrame.newBuilder().setHello(Hello.newBuilder()
                .setMinVersion(1).setMaxVersion(1).setToken(repeat('x', 500)).setDeviceId("d")).build();
        ClientFrame ping = ClientFrame.newBuilder().setPing(Ping.getDefaultInstance()).build();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Frames.write(out, hello);
        Frames.write(out, ping);
        InputStream in = new ByteArrayInputStream(out.toByteArray());
        assertThat(ClientFrame.parseFrom(Frames.read(in, 1024))).isEqualTo(hello);
        assertThat(ClientFrame.parseFrom(Frames.read(in, 1024))).isEqualTo(ping);
        assertThat(Frames.read(in, 1024)).isNull();
    }

    @Test
    void encodeMatchesWrite() throws IOException {
        ClientFrame ping = ClientFrame.newBuilder().setPing(Ping.newBuilder().setTimestamp(123456789L)).build();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Frames.write(out, ping);
        assertThat(Frames.encode(ping)).isEqualTo(out.toByteArray());
    }

    @Test
    void refusesAFrameOverTheCapBeforeReadingIt() {
        // varint 2000 = 0xD0 0x0F, and no body: the cap is checked first
        InputStream in = new ByteArrayInputStream(new byte[]{(byte) 0xD0, 0x0F});
        assertThatThrownBy(() -> Frames.read(in, 1024))
                .isInstanceOf(FrameTooLargeException.class)
                .hasMessageContaining("2000").hasMessageContaining("1024");
    }

    @Test
    void refusesAnOverlongVarint() {
        InputStream in = new ByteArrayInputStream(new byte[]{(byte) 0xFF, (byte) 0xFF, (byte) 0xFF,
                (byte) 0xFF, (byte) 0x7F});
        assertThatThrownBy(() -> Frames.read(in, 1024)).isInstanceOf(FrameTooLargeException.class);
    }

    @Test
    void truncatedFrameIsAnEofNotACleanEnd() {
        assertThatThrownBy(() -> Frames.read(new ByteArrayInputStream(new byte[]{0x05, 0x1A}), 1024))
                .isInstanceOf(EOFException.class);
        assertThatThrownBy(() -> Frames.read(new ByteArrayInputStream(new byte[]{(byte) 0x80}), 1024))
                .isInstanceOf(EOFException.class);
    }

    @Test
    void negotiatesTheHighestCommonVersion() {
        assertThat(ProtocolVersion.negotiate(1, 1)).isEqualTo(1);
        assertThat(ProtocolVersion.negotiate(0, 5)).isEqualTo(ProtocolVersion.MAX);
        assertThat(ProtocolVersion.negotiate(1, 2)).isEqualTo(2);
        assertThat(ProtocolVersion.negotiate(2, 3)).isEqualTo(2);
        assertThat(ProtocolVersion.negotiate(3, 4)).isEqualTo(-1);
        assertThat(ProtocolVersion.negotiate(0, 0)).isEqualTo(-1);
    }

    private static String repeat(char c, int n) {
        StringBuilder s = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            s.append(c);
        }
        return s.toString();
    }
}
