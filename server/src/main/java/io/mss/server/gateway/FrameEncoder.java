package io.mss.server.gateway;

import com.google.protobuf.CodedOutputStream;
import io.mss.protocol.v1.ServerFrame;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;

import java.io.IOException;

/**
 * Writes a {@link ServerFrame} with its varint32 length prefix. Buffers that were encoded
 * already (a live run shared by many sessions) pass through untouched.
 */
@ChannelHandler.Sharable
public final class FrameEncoder extends MessageToByteEncoder<ServerFrame> {
    public static final FrameEncoder INSTANCE = new FrameEncoder();

    private FrameEncoder() {
        super(ServerFrame.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, ServerFrame frame, ByteBuf out) throws IOException {
        int size = frame.getSerializedSize();
        int total = CodedOutputStream.computeUInt32SizeNoTag(size) + size;
        out.ensureWritable(total);
        CodedOutputStream coded = CodedOutputStream.newInstance(out.nioBuffer(out.writerIndex(), total));
        coded.writeUInt32NoTag(size);
        frame.writeTo(coded);
        coded.flush();
        out.writerIndex(out.writerIndex() + total);
    }
}
