package io.mss.server.gateway;

import io.mss.protocol.ProtocolVersion;
import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.ErrorCode;
import io.mss.protocol.v1.Hello;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.Welcome;
import io.mss.server.auth.ClientToken;
import io.mss.server.auth.TokenVerifier;
import io.mss.server.identity.SessionValidator;
import io.mss.server.store.StoreException;
import io.mss.server.sync.Session;
import io.mss.server.sync.SyncEngine;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The first frame must be a Hello with a valid token; nothing is read from the store before
 * that. On success this handler replaces itself with a {@link SessionHandler}.
 *
 * <p>The user comes from the token's {@code sub}. Without one, a {@code Hello.user_id} is
 * accepted only when the session-validation webhook confirms it with {@code Hello.session_id};
 * while the webhook is asked, the channel stops reading and the event loop goes on serving
 * other connections, and the handshake continues on this channel's event loop with the answer.
 */
final class HandshakeHandler extends ChannelInboundHandlerAdapter {
    private static final Logger events = LoggerFactory.getLogger("mss.events");

    private final GatewayContext gateway;
    private ScheduledFuture<?> timeout;
    /** Frames that arrive behind a refused Hello are dropped: the connection is closing. */
    private boolean helloSeen;
    /** A Hello's user_id is being checked with the session-validation webhook, or its session opened. */
    private boolean validating;
    /** What arrived behind that Hello before reading paused; replayed to the session. */
    private final List<Object> pending = new ArrayList<>();
    /** Reading pauses at once, so only what one read already brought in can queue up. */
    private static final int MAX_PENDING_FRAMES = 64;
    /** Refused while the webhook was being asked: its answer comes too late to matter. */
    private boolean abandoned;

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
        if (validating) {
            // behind a Hello whose user is being validated: kept for the session, or dropped with it
            if (pending.size() >= MAX_PENDING_FRAMES) {
                ReferenceCountUtil.release(msg);
                validating = false;
                abandoned = true;
                pending.clear();
                Errors.closeWith(ctx.channel(), ErrorCode.BAD_FRAME, "more than " + MAX_PENDING_FRAMES
                        + " frames sent before Welcome", false);
                return;
            }
            pending.add(msg);
            return;
        }
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
        String claimed = hello.getUserId();
        if (token.userId() != null) {
            // the token names the user; the Hello may repeat it, never change it
            if (!claimed.isEmpty() && !claimed.equals(token.userId())) {
                Errors.closeWith(ctx.channel(), ErrorCode.USER_SESSION_INVALID,
                        "Hello.user_id differs from the token's 'sub'", false);
                return;
            }
            welcome(ctx, hello, version, token);
            return;
        }
        if (claimed.isEmpty()) {
            welcome(ctx, hello, version, token); // anonymous: DEVICE and GLOBAL bizTypes only
            return;
        }
        SessionValidator validator = gateway.sessions();
        if (!validator.enabled()) {
            Errors.closeWith(ctx.channel(), ErrorCode.USER_SESSION_INVALID, "Hello.user_id needs a token with"
                    + " 'sub' or session validation, and session validation is not configured on this server", false);
            return;
        }
        String problem = hello.getSessionId().isEmpty() ? "Hello.user_id needs Hello.session_id to prove it"
                : claimed.length() > SessionValidator.MAX_USER_ID_CHARS
                ? "Hello.user_id exceeds " + SessionValidator.MAX_USER_ID_CHARS + " characters"
                : hello.getSessionId().length() > SessionValidator.MAX_SESSION_ID_CHARS
                ? "Hello.session_id exceeds " + SessionValidator.MAX_SESSION_ID_CHARS + " characters" : null;
        if (problem != null) {
            Errors.closeWith(ctx.channel(), ErrorCode.USER_SESSION_INVALID, problem, false);
            return;
        }
        // ask the business backend without blocking the event loop; read nothing meanwhile
        validating = true;
        ctx.channel().config().setAutoRead(false);
        long started = System.nanoTime();
        validator.validate(claimed, hello.getSessionId(), token.deviceId()).whenComplete((answer, error) -> {
            if (ctx.executor().inEventLoop()) {
                validated(ctx, hello, version, token, answer, error, started);
                return;
            }
            try {
                ctx.executor().execute(() -> validated(ctx, hello, version, token, answer, error, started));
            } catch (RejectedExecutionException shuttingDown) {
                // the event loop is stopping and takes the connection with it
            }
        });
    }

    /** The webhook's answer, back on the channel's event loop. */
    private void validated(ChannelHandlerContext ctx, Hello hello, int version, ClientToken token,
                           SessionValidator.Answer answer, Throwable error, long started) {
        if (abandoned) {
            return;
        }
        validating = false;
        long millis = (System.nanoTime() - started) / 1_000_000;
        if (error != null) {
            Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
            events.info("session-validation device={} user={} result=unavailable ms={} reason=\"{}\"",
                    token.deviceId(), hello.getUserId(), millis, cause.getMessage());
            pending.clear();
            if (ctx.channel().isActive()) {
                Errors.closeWith(ctx.channel(), ErrorCode.USER_SESSION_INVALID, "cannot validate the session now, "
                        + "try again later: " + cause.getMessage(), true);
            }
            return;
        }
        events.info("session-validation device={} user={} result={} via={} ms={}", token.deviceId(),
                hello.getUserId(), answer.valid() ? "valid" : "invalid", answer.via(), millis);
        if (!ctx.channel().isActive() || ctx.isRemoved()) {
            pending.clear();
            return;
        }
        if (!answer.valid()) {
            pending.clear();
            Errors.closeWith(ctx.channel(), ErrorCode.USER_SESSION_INVALID,
                    "the business backend does not recognize Hello.session_id for Hello.user_id", false);
            return;
        }
        // verified by the business backend: from here on the user is as good as a token's 'sub'
        ClientToken verified = new ClientToken(hello.getUserId(), token.deviceId(), token.expiresAt());
        welcome(ctx, hello, version, verified);
    }

    private record Opened(Session session, List<String> unknownBizTypes) {
    }

    /**
     * Opens the session: its sync points are read through the engine's store reader, meanwhile
     * the channel reads nothing (what already came in behind the Hello is kept for the session),
     * and the handshake goes on with the answer on this channel's event loop.
     */
    private void welcome(ChannelHandlerContext ctx, Hello hello, int version, ClientToken token) {
        SyncEngine engine = gateway.engine();
        validating = true;
        ctx.channel().config().setAutoRead(false);
        engine.reader().read(ctx.channel().eventLoop(), () -> {
            List<String> unknown = new ArrayList<>();
            return new Opened(engine.open(ctx.channel(), token, hello, version, unknown), unknown);
        }).whenComplete((opened, error) -> opened(ctx, hello, version, token, opened, error));
    }

    private void opened(ChannelHandlerContext ctx, Hello hello, int version, ClientToken token, Opened opened,
                        Throwable error) {
        if (abandoned) {
            return;
        }
        validating = false;
        if (!ctx.channel().isActive() || ctx.isRemoved()) {
            pending.clear();
            return;
        }
        if (error != null) {
            pending.clear();
            Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
            if (!(cause instanceof StoreException)) {
                ctx.fireExceptionCaught(cause);
                return;
            }
            // the store is away for a moment: the client backs off and connects again
            Errors.closeWith(ctx.channel(), ErrorCode.INTERNAL, "the store is unavailable, try again later: "
                    + cause.getMessage(), true);
            return;
        }
        ChannelPipeline pipeline = ctx.pipeline();
        welcomed(ctx, hello, version, token, opened.session(), opened.unknownBizTypes());
        // frames the client sent behind its Hello go to the session, in order
        ChannelHandlerContext before = pipeline.context(GatewayInitializer.IDLE);
        List<Object> queued = new ArrayList<>(pending);
        pending.clear();
        for (Object frame : queued) {
            if (before == null) {
                ReferenceCountUtil.release(frame);
            } else {
                before.fireChannelRead(frame);
            }
        }
        pipeline.channel().config().setAutoRead(true);
    }

    private void welcomed(ChannelHandlerContext ctx, Hello hello, int version, ClientToken token, Session session,
                          List<String> unknown) {
        SyncEngine engine = gateway.engine();
        ctx.writeAndFlush(ServerFrame.newBuilder().setWelcome(Welcome.newBuilder()
                .setVersion(version)
                .setSessionId(session.sessionId())
                .setHeartbeatIntervalMs(gateway.config().heartbeatSeconds * 1000)
                .setUserId(token.userId() == null ? "" : token.userId())
                .setDeviceId(token.deviceId())
                .addAllUnknownBizTypes(unknown)
                .setMaxFrameBytes(gateway.config().maxFrameBytes)).build());
        events.info("connect session={} device={} user={} remote={} bizTypes={} os={} app={} transport={}",
                session.sessionId(), token.deviceId(), token.userId(), ctx.channel().remoteAddress(),
                hello.getBizTypesList(), hello.getOsType(), hello.getAppVersion(), Transport.of(ctx.channel()));
        engine.metrics().handshake("ok");
        Channel channel = ctx.channel();
        ctx.pipeline().replace(this, GatewayInitializer.SESSION_HANDLER, new SessionHandler(gateway, session));
        engine.start(session).whenComplete((started, error) -> {
            if (error != null) {
                Throwable cause = error instanceof CompletionException && error.getCause() != null
                        ? error.getCause() : error;
                Errors.closeWith(channel, ErrorCode.INTERNAL, "the store is unavailable, try again later: "
                        + cause.getMessage(), true);
            }
        });
    }

    /** Still here when the channel closes: the handshake failed (this handler leaves on success). */
    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        ErrorCode code = ctx.channel().attr(Errors.CLOSED_WITH).get();
        gateway.engine().metrics().handshake(code == null ? "aborted" : code.name().toLowerCase(java.util.Locale.ROOT));
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // mostly failed TLS handshakes and resets before Hello; nothing to tell the peer
        events.debug("handshake failed remote={}: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }
}
