package io.mss.server.gateway;

import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.ErrorCode;
import io.mss.protocol.v1.Pong;
import io.mss.protocol.v1.ServerFrame;
import io.mss.server.sync.Session;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Frames of an established session: acks, pings; and the channel's writability and idleness. */
final class SessionHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(SessionHandler.class);
    private static final Logger events = LoggerFactory.getLogger("mss.events");

    private final GatewayContext gateway;
    private final Session session;
    private String closeReason = "peer closed";

    SessionHandler(GatewayContext gateway, Session session) {
        this.gateway = gateway;
        this.session = session;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (msg instanceof FrameDecodeFailure failure) {
                closeReason = failure.message();
                Errors.closeWith(ctx.channel(), failure.code(), failure.message(), false);
            } else if (msg instanceof ClientFrame frame) {
                switch (frame.getKindCase()) {
                    case ACK -> session.onAck(frame.getAck());
                    case PING -> ctx.writeAndFlush(ServerFrame.newBuilder()
                            .setPong(Pong.newBuilder().setTimestamp(frame.getPing().getTimestamp())).build(),
                            ctx.voidPromise());
                    case HELLO -> refuse(ctx, "a session sends Hello only once");
                    default -> refuse(ctx, "unknown frame kind " + frame.getKindCase());
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void refuse(ChannelHandlerContext ctx, String reason) {
        closeReason = reason;
        Errors.closeWith(ctx.channel(), ErrorCode.BAD_FRAME, reason, false);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            session.drain();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            closeReason = "idle timeout";
            Errors.closeWith(ctx.channel(), ErrorCode.IDLE_TIMEOUT, "nothing received for "
                    + gateway.idleTimeoutMillis() + " ms", true);
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        gateway.engine().close(session);
        events.info("disconnect session={} device={} reason=\"{}\"", session.sessionId(), session.deviceId(),
                closeReason);
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        closeReason = cause.toString();
        log.debug("session {} failed", session.sessionId(), cause);
        ctx.close();
    }
}
