package io.mss.server.gateway;

import io.mss.protocol.Frames;
import io.mss.protocol.v1.Ack;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.ErrorCode;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.Ping;
import io.mss.protocol.v1.Pong;
import io.mss.protocol.v1.ScopeKind;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.SyncPoint;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;

import static org.assertj.core.api.Assertions.assertThat;

class FrameCodecTest {
    private static final int CAP = 1024;

    @Test
    void decodesAPingFromLiteralBytes() {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(CAP));
        // length 4 | field 3 (ping), length 2 | field 1 (timestamp) varint 7
        channel.writeInbound(Unpooled.wrappedBuffer(new byte[]{0x04, 0x1A, 0x02, 0x08, 0x07}));
        ClientFrame frame = channel.readInbound();
        assertThat(frame.getPing().getTimestamp()).isEqualTo(7);
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void reassemblesFramesSplitIntoSingleBytes() {
        ClientFrame hello = ClientFrame.newBuilder().setHello(Hello.newBuilder()
                .setMinVersion(1).setMaxVersion(1).setToken("t".repeat(300)).setDeviceId("d1")
                .addBizTypes("ORDER")).build();
        ClientFrame ack = ClientFrame.newBuilder().setAck(Ack.newBuilder().addSyncPoints(
                SyncPoint.newBuilder().setBizType("ORDER").setScope(ScopeKind.USER).setId(42))).build();
        byte[] both = concat(Frames.encode(hello), Frames.encode(ack));
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(CAP));
        for (byte b : both) {
            channel.writeInbound(Unpooled.wrappedBuffer(new byte[]{b}));
        }
        assertThat((ClientFrame) channel.readInbound()).isEqualTo(hello);
        assertThat((ClientFrame) channel.readInbound()).isEqualTo(ack);
        assertThat((Object) channel.readInbound()).isNull();
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void twoFramesInOneBufferAreBothDecoded() {
        ClientFrame ping = ClientFrame.newBuilder().setPing(Ping.newBuilder().setTimestamp(1)).build();
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(CAP));
        channel.writeInbound(Unpooled.wrappedBuffer(concat(Frames.encode(ping), Frames.encode(ping))));
        assertThat((ClientFrame) channel.readInbound()).isEqualTo(ping);
        assertThat((ClientFrame) channel.readInbound()).isEqualTo(ping);
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void oversizedFrameIsRefusedBeforeItsBodyArrives() {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(CAP));
        // varint 1025 = 0x81 0x08: one byte over the cap, and no body sent at all
        channel.writeInbound(Unpooled.wrappedBuffer(new byte[]{(byte) 0x81, 0x08}));
        FrameDecodeFailure failure = channel.readInbound();
        assertThat(failure.code()).isEqualTo(ErrorCode.FRAME_TOO_LARGE);
        assertThat(failure.message()).contains("1025").contains("1024");
        // whatever follows is discarded, never parsed
        channel.writeInbound(Unpooled.wrappedBuffer(new byte[]{0x04, 0x1A, 0x02, 0x08, 0x07}));
        assertThat((Object) channel.readInbound()).isNull();
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void overlongVarintIsRefused() {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(CAP));
        channel.writeInbound(Unpooled.wrappedBuffer(new byte[]{(byte) 0xFF, (byte) 0xFF, (byte) 0xFF,
                (byte) 0xFF, (byte) 0xFF, 0x01}));
        FrameDecodeFailure failure = channel.readInbound();
        assertThat(failure.code()).isEqualTo(ErrorCode.FRAME_TOO_LARGE);
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void garbageBodyBecomesBadFrame() {
        EmbeddedChannel channel = new EmbeddedChannel(new FrameDecoder(CAP));
        // length 3, then a field tag with wire type 7, which does not exist
        channel.writeInbound(Unpooled.wrappedBuffer(new byte[]{0x03, 0x0F, 0x01, 0x02}));
        FrameDecodeFailure failure = channel.readInbound();
        assertThat(failure.code()).isEqualTo(ErrorCode.BAD_FRAME);
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void encoderWritesWhatTheBlockingReaderReads() throws IOException {
        EmbeddedChannel channel = new EmbeddedChannel(FrameEncoder.INSTANCE);
        ServerFrame pong = ServerFrame.newBuilder().setPong(Pong.newBuilder().setTimestamp(99)).build();
        assertThat(channel.writeOutbound(pong)).isTrue();
        ByteBuf out = channel.readOutbound();
        byte[] bytes = new byte[out.readableBytes()];
        out.readBytes(bytes);
        out.release();
        // length 4 | field 3 (pong), length 2 | timestamp 99
        assertThat(bytes).containsExactly(0x04, 0x1A, 0x02, 0x08, 99);
        byte[] body = Frames.read(new ByteArrayInputStream(bytes), CAP);
        assertThat(ServerFrame.parseFrom(body)).isEqualTo(pong);
        assertThat(channel.finish()).isFalse();
    }

    @Test
    void preEncodedBuffersPassThroughTheEncoder() {
        EmbeddedChannel channel = new EmbeddedChannel(FrameEncoder.INSTANCE);
        ByteBuf shared = Unpooled.wrappedBuffer(new byte[]{1, 2, 3});
        channel.writeOutbound(shared);
        ByteBuf out = channel.readOutbound();
        assertThat(out).isSameAs(shared);
        out.release();
        assertThat(channel.finish()).isFalse();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] all = new byte[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
