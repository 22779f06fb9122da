package io.mss.server.gateway;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.timeout.IdleStateHandler;

import java.util.concurrent.TimeUnit;

/**
 * The pipeline every transport shares: framing, idle detection, handshake, then the session.
 * A subclass per transport adds what sits below the frames (TLS now; a WebSocket adapter
 * later reuses everything above it).
 */
abstract class GatewayInitializer extends ChannelInitializer<Channel> {
    static final String TLS = "tls";
    static final String FRAME_DECODER = "frameDecoder";
    static final String FRAME_ENCODER = "frameEncoder";
    static final String IDLE = "idle";
    static final String HANDSHAKE = "handshake";
    static final String SESSION_HANDLER = "session";

    final GatewayContext gateway;

    GatewayInitializer(GatewayContext gateway) {
        this.gateway = gateway;
    }

    @Override
    protected void initChannel(Channel ch) {
        if (!gateway.connections().admit(ch)) {
            gateway.engine().metrics().handshake("too_many_connections_per_ip");
            return; // closed at accept: max-connections-per-ip
        }
        Transport.set(ch, transport());
        java.util.concurrent.atomic.AtomicInteger open = gateway.engine().metrics().transportConnections(transport());
        open.incrementAndGet();
        ch.closeFuture().addListener(f -> open.decrementAndGet());
        ChannelPipeline pipeline = ch.pipeline();
        addTransport(ch, pipeline);
        pipeline.addLast(FRAME_DECODER, new FrameDecoder(gateway.config().maxFrameBytes));
        pipeline.addLast(FRAME_ENCODER, FrameEncoder.INSTANCE);
        pipeline.addLast(IDLE, new IdleStateHandler(gateway.idleTimeoutMillis(), 0, 0, TimeUnit.MILLISECONDS));
        pipeline.addLast(HANDSHAKE, new HandshakeHandler(gateway));
    }

    /** The transport's name in {@code mss.events} lines and metrics tags. */
    String transport() {
        return Transport.TCP;
    }

    /** Adds the handlers below the frame codec. */
    abstract void addTransport(Channel ch, ChannelPipeline pipeline);
}
