package io.mss.server.gateway;

import io.mss.protocol.v1.ClientFrame;
import io.mss.protocol.v1.ErrorCode;
import io.mss.protocol.v1.Pong;
import io.mss.protocol.v1.ServerFrame;
import io.mss.protocol.v1.UpstreamMessage;
import io.mss.protocol.v1.UpstreamResult;
import io.mss.server.sync.Session;
import io.mss.server.upstream.UpstreamRelay;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Frames of an established session: acks, pings, upstream messages; and the channel's
 * writability and idleness.
 */
final class SessionHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(SessionHandler.class);
    private static final Logger events = LoggerFactory.getLogger("mss.events");

    private final GatewayContext gateway;
    private final Session session;
    private String closeReason = "peer closed";
    /** System.nanoTime() when the channel last turned unwritable; 0 while writable. Event loop only. */
    private long unwritableSince;
    /** A slow-consumer check is pending: at most one per connection, however often writability flips. */
    private boolean checkScheduled;
    /** Upstream messages of this connection not answered yet; event loop only. */
    private int upstreamInFlight;
    /** One connection cannot take all of the server's upstream capacity. */
    static final int MAX_UPSTREAM_IN_FLIGHT = 64;

    SessionHandler(GatewayContext gateway, Session session) {
        this.gateway = gateway;
        this.session = session;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (!ctx.channel().isWritable() && unwritableSince == 0) {
            becameUnwritable(ctx);
        }
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
                    case PING -> pong(ctx, frame.getPing().getTimestamp());
                    case UPSTREAM -> upstream(ctx, frame.getUpstream());
                    case HELLO -> refuse(ctx, "a session sends Hello only once");
                    default -> refuse(ctx, "unknown frame kind " + frame.getKindCase());
                }
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    /**
     * Relays an upstream message and answers it when the business backend has, on this
     * channel's event loop. Bad requests are answered, never punished with a close.
     */
    private void upstream(ChannelHandlerContext ctx, UpstreamMessage message) {
        long started = System.nanoTime();
        if (upstreamInFlight >= MAX_UPSTREAM_IN_FLIGHT) {
            answer(ctx, message, new UpstreamRelay.Outcome(UpstreamResult.newBuilder()
                    .setClientMsgId(message.getClientMsgId()).setSuccess(false).setCode(UpstreamRelay.SERVER_BUSY)
                    .setMessage(MAX_UPSTREAM_IN_FLIGHT + " upstream messages of this connection are unanswered;"
                            + " wait for their results").build(), UpstreamRelay.Via.REFUSED), started);
            return;
        }
        upstreamInFlight++;
        gateway.upstream().relay(session.userId(), session.deviceId(), message).whenComplete((outcome, error) -> {
            UpstreamRelay.Outcome answered = error == null ? outcome : new UpstreamRelay.Outcome(
                    UpstreamResult.newBuilder().setClientMsgId(message.getClientMsgId()).setSuccess(false)
                            .setCode("INTERNAL").setMessage("the server failed to relay the message").build(),
                    UpstreamRelay.Via.REFUSED);
            if (error != null) {
                log.warn("upstream relay failed for session {}", session.sessionId(), error);
            }
            if (ctx.executor().inEventLoop()) {
                upstreamInFlight--;
                answer(ctx, message, answered, started);
                return;
            }
            try {
                ctx.executor().execute(() -> {
                    upstreamInFlight--;
                    answer(ctx, message, answered, started);
                });
            } catch (RejectedExecutionException shuttingDown) {
                // the event loop is stopping and takes the connection with it
            }
        });
    }

    private void answer(ChannelHandlerContext ctx, UpstreamMessage message, UpstreamRelay.Outcome outcome,
                        long started) {
        UpstreamResult result = outcome.result();
        events.info("upstream session={} device={} user={} biz={} clientMsgId={} via={} success={} code={} ms={}{}",
                session.sessionId(), session.deviceId(), session.userId(), message.getBizType(),
                message.getClientMsgId(), outcome.via(), result.getSuccess(), result.getCode(),
                (System.nanoTime() - started) / 1_000_000,
                result.getMessage().isEmpty() ? "" : " reason=\"" + result.getMessage() + '"');
        if (ctx.channel().isActive()) {
            ctx.writeAndFlush(ServerFrame.newBuilder().setUpstreamResult(result).build(), ctx.voidPromise());
        }
    }

    /**
     * A client that pings but never reads must not grow our write buffer: while the channel
     * is not writable the Pong is skipped. The client is receiving data then anyway, which is
     * all its heartbeat check needs.
     */
    private static void pong(ChannelHandlerContext ctx, long timestamp) {
        if (ctx.channel().isWritable()) {
            ctx.writeAndFlush(ServerFrame.newBuilder().setPong(Pong.newBuilder().setTimestamp(timestamp)).build(),
                    ctx.voidPromise());
        }
    }

    private void refuse(ChannelHandlerContext ctx, String reason) {
        closeReason = reason;
        Errors.closeWith(ctx.channel(), ErrorCode.BAD_FRAME, reason, false);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            unwritableSince = 0;
            session.drain();
        } else if (unwritableSince == 0) {
            becameUnwritable(ctx);
        }
        ctx.fireChannelWritabilityChanged();
    }

    /**
     * Bounded outbound per connection: a client that keeps the channel unwritable for longer
     * than slow-consumer-timeout-seconds is closed. Its backlog stays in the store; the next
     * connection resumes from its sync point. Runs on the event loop, like everything here.
     */
    private void becameUnwritable(ChannelHandlerContext ctx) {
        unwritableSince = System.nanoTime();
        if (!checkScheduled) {
            scheduleSlowConsumerCheck(ctx, gateway.config().slowConsumerTimeoutSeconds * 1_000_000_000L);
        }
    }

    private void scheduleSlowConsumerCheck(ChannelHandlerContext ctx, long delayNanos) {
        checkScheduled = true;
        ctx.executor().schedule(() -> {
            checkScheduled = false;
            if (unwritableSince == 0 || !ctx.channel().isActive()) {
                return; // writable again (a later episode schedules its own check), or gone
            }
            long timeoutNanos = gateway.config().slowConsumerTimeoutSeconds * 1_000_000_000L;
            long unwritableNanos = System.nanoTime() - unwritableSince;
            if (unwritableNanos < timeoutNanos) {
                // an earlier episode's check, or writable and unwritable again since: wait for this one
                scheduleSlowConsumerCheck(ctx, timeoutNanos - unwritableNanos);
                return;
            }
            closeSlowConsumer(ctx, unwritableNanos / 1_000_000);
        }, Math.max(1, delayNanos), TimeUnit.NANOSECONDS);
    }

    private void closeSlowConsumer(ChannelHandlerContext ctx, long unwritableMs) {
        closeReason = "slow consumer";
        events.info("slow-consumer session={} device={} user={} remote={} unwritableMs={} pendingBytes={}",
                session.sessionId(), session.deviceId(), session.userId(), ctx.channel().remoteAddress(),
                unwritableMs, session.pendingOutboundBytes());
        // the Error frame queues behind what the client is not reading, so it may never get it;
        // it is written anyway for a client that resumes reading in the next second
        Errors.closeWith(ctx.channel(), ErrorCode.SLOW_CONSUMER, "the connection did not take data for "
                + unwritableMs + " ms (slow-consumer-timeout-seconds is "
                + gateway.config().slowConsumerTimeoutSeconds + "); reconnect and read faster", true);
        ctx.executor().schedule(() -> {
            if (ctx.channel().isOpen()) {
                // hard close below TLS: a close_notify would wait behind the same full buffer
                ChannelHandlerContext tls = ctx.pipeline().context(GatewayInitializer.TLS);
                (tls != null ? tls : ctx).close();
            }
        }, 1, TimeUnit.SECONDS);
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
        events.info("disconnect session={} device={} user={} remote={} connectedMs={} reason=\"{}\" transport={}",
                session.sessionId(), session.deviceId(), session.userId(), ctx.channel().remoteAddress(),
                System.currentTimeMillis() - session.connectedAt(), closeReason, Transport.of(ctx.channel()));
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        closeReason = cause.toString();
        log.debug("session {} failed", session.sessionId(), cause);
        ctx.close();
    }
}
