package io.mss.server.gateway;

import io.mss.protocol.ProtocolVersion;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.ErrorCode;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.Welcome;
import io.mss.server.auth.ClientToken;
import io.mss.server.auth.TokenVerifier;
import io.mss.server.sync.Session;
import io.mss.server.sync.SyncEngine;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The first frame must be a Hello with a valid token; nothing is read from the store before
 * that. On success this handler replaces itself with a {@link SessionHandler}.
 */
final class HandshakeHandler extends ChannelInboundHandlerAdapter {
    private static final Logger events = LoggerFactory.getLogger("mss.events");

    private final GatewayContext gateway;
    private ScheduledFuture<?> timeout;
    /** Frames that arrive behind a refused Hello are dropped: the connection is closing. */
    private boolean helloSeen;

    HandshakeHandler(GatewayContext gateway) {
        this.gateway = gateway;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        // covers the TLS handshake too: a connection that never says Hello is closed
        timeout = ctx.executor().schedule(() -> {
            if (ctx.channel().isActive()) {
                Errors.closeWith(ctx.channel(), ErrorCode.HANDSHAKE_TIMEOUT,
                        "no Hello within " + gateway.config().handshakeTimeoutSeconds + " s", true);
            }
        }, gateway.config().handshakeTimeoutSeconds, TimeUnit.SECONDS);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (timeout != null) {
            timeout.cancel(false);
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        try {
            if (helloSeen) {
                return;
            }
            if (msg instanceof FrameDecodeFailure failure) {
                helloSeen = true;
                Errors.closeWith(ctx.channel(), failure.code(), failure.message(), false);
            } else if (msg instanceof ClientFrame frame) {
                if (frame.getKindCase() != ClientFrame.KindCase.HELLO) {
                    Errors.closeWith(ctx.channel(), ErrorCode.HANDSHAKE_REQUIRED,
                            "the first frame must be a Hello, got " + frame.getKindCase(), false);
                } else {
                    hello(ctx, frame.getHello());
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void hello(ChannelHandlerContext ctx, Hello hello) {
        helloSeen = true;
        if (timeout != null) {
            timeout.cancel(false);
        }
        int version = ProtocolVersion.negotiate(hello.getMinVersion(), hello.getMaxVersion());
        if (version < 0) {
            Errors.closeWith(ctx.channel(), ErrorCode.UNSUPPORTED_VERSION, "client speaks versions "
                    + hello.getMinVersion() + ".." + hello.getMaxVersion() + ", server speaks "
                    + ProtocolVersion.MIN + ".." + ProtocolVersion.MAX, false);
            return;
        }
        ClientToken token;
        try {
            token = gateway.tokens().verify(hello.getToken());
        } catch (TokenVerifier.InvalidTokenException e) {
            Errors.closeWith(ctx.channel(), e.expired() ? ErrorCode.TOKEN_EXPIRED : ErrorCode.INVALID_TOKEN,
                    e.getMessage(), e.expired());
            return;
        }
        if (!hello.getDeviceId().isEmpty() && !hello.getDeviceId().equals(token.deviceId())) {
            Errors.closeWith(ctx.channel(), ErrorCode.DEVICE_MISMATCH,
                    "Hello.device_id differs from the token's 'did'", false);
            return;
        }
        SyncEngine engine = gateway.engine();
        List<String> unknown = new ArrayList<>();
        Session session = engine.open(ctx.channel(), token, hello, unknown);
        ctx.writeAndFlush(ServerFrame.newBuilder().setWelcome(Welcome.newBuilder()
                .setVersion(version)
                .setSessionId(session.sessionId())
                .setHeartbeatIntervalMs(gateway.config().heartbeatSeconds * 1000)
                .setUserId(token.userId() == null ? "" : token.userId())
                .setDeviceId(token.deviceId())
                .addAllUnknownBizTypes(unknown)
                .setMaxFrameBytes(gateway.config().maxFrameBytes)).build());
        events.info("connect session={} device={} user={} remote={} bizTypes={} os={} app={}", session.sessionId(),
                token.deviceId(), token.userId(), ctx.channel().remoteAddress(), hello.getBizTypesList(),
                hello.getOsType(), hello.getAppVersion());
        ctx.pipeline().replace(this, GatewayInitializer.SESSION_HANDLER, new SessionHandler(gateway, session));
        engine.start(session);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // mostly failed TLS handshakes and resets before Hello; nothing to tell the peer
        events.debug("handshake failed remote={}: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }
}
