package io.mss.bench.client;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;

import java.util.concurrent.atomic.LongAdder;

/** First in the pipeline, below TLS: counts the bytes that cross the socket in both directions. */
@ChannelHandler.Sharable
public final class WireCounter extends ChannelDuplexHandler {
    public static final String NAME = "wire-counter";
    private final LongAdder bytes = new LongAdder();

    public long bytes() {
        return bytes.sum();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf buf) {
            bytes.add(buf.readableBytes());
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof ByteBuf buf) {
            bytes.add(buf.readableBytes());
        }
        ctx.write(msg, promise);
    }
}
