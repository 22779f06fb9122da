package io.mss.server.gateway;

import com.google.protobuf.InvalidProtocolBufferException;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.ErrorCode;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;

import java.util.List;

/**
 * Varint32 length prefix, then one {@link ClientFrame}; the same framing as
 * {@link io.mss.protocol.Frames}. The announced length is checked against the cap before
 * any body byte is buffered. Malformed input never throws into the pipeline: it becomes one
 * {@link FrameDecodeFailure} and everything after it is discarded, because the stream can no
 * longer be trusted to be aligned on frames.
 */
public final class FrameDecoder extends ByteToMessageDecoder {
    private final int maxFrameBytes;
    private boolean failed;

    public FrameDecoder(int maxFrameBytes) {
        this.maxFrameBytes = maxFrameBytes;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        int start = in.readerIndex();
        long length = readVarint32(in);
        if (length == INCOMPLETE) {
            in.readerIndex(start);
            return;
        }
        if (length == MALFORMED || length > maxFrameBytes) {
            fail(in, out, ErrorCode.FRAME_TOO_LARGE, length == MALFORMED
                    ? "frame length prefix is not a valid varint32"
                    : "frame of " + length + " bytes exceeds the cap of " + maxFrameBytes + " bytes");
            return;
        }
        if (in.readableBytes() < length) {
            in.readerIndex(start);
            return;
        }
        ClientFrame frame;
        try {
            frame = ClientFrame.parseFrom(in.nioBuffer(in.readerIndex(), (int) length));
        } catch (InvalidProtocolBufferException e) {
            fail(in, out, ErrorCode.BAD_FRAME, "frame is not a valid ClientFrame: " + e.getMessage());
            return;
        }
        in.skipBytes((int) length);
        out.add(frame);
    }

    private void fail(ByteBuf in, List<Object> out, ErrorCode code, String message) {
        failed = true;
        in.skipBytes(in.readableBytes());
        out.add(new FrameDecodeFailure(code, message));
    }

    private static final long INCOMPLETE = -1;
    private static final long MALFORMED = -2;

    /** Reads a varint32 without allocating; leaves the reader index after it when complete. */
    private static long readVarint32(ByteBuf in) {
        long value = 0;
        for (int shift = 0; shift < 35; shift += 7) {
            if (!in.isReadable()) {
                return INCOMPLETE;
            }
            byte b = in.readByte();
            value |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return value > Integer.MAX_VALUE ? MALFORMED : value;
            }
        }
        return MALFORMED;
    }
}
