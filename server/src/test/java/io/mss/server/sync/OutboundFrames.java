package io.mss.server.sync;

import io.mss.protocol.v1.ServerFrame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;

import java.util.ArrayList;
import java.util.List;

/** What a session wrote to an {@link EmbeddedChannel}, as frames: encoded ones are parsed and released. */
final class OutboundFrames {
    private OutboundFrames() {
    }

    static List<ServerFrame> take(EmbeddedChannel channel) {
        List<ServerFrame> frames = new ArrayList<>();
        Object message;
        while ((message = channel.readOutbound()) != null) {
            if (message instanceof ServerFrame frame) {
                frames.add(frame);
            } else if (message instanceof ByteBuf buffer) {
                try {
                    frames.add(ServerFrame.parseFrom(ByteBufUtil.getBytes(buffer)));
                } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                    throw new AssertionError(e);
                } finally {
                    ReferenceCountUtil.release(buffer);
                }
            }
        }
        return frames;
    }
}
