package io.mss.server.gateway;

import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.ssl.SslContext;

/** TCP + TLS, the sync port's transport. */
final class TlsGatewayInitializer extends GatewayInitializer {
    /** Asked once per connection: a reloaded certificate applies from the next handshake on. */
    private final java.util.function.Supplier<SslContext> sslContext;

    TlsGatewayInitializer(GatewayContext gateway, java.util.function.Supplier<SslContext> sslContext) {
        super(gateway);
        this.sslContext = sslContext;
    }

    @Override
    void addTransport(Channel ch, ChannelPipeline pipeline) {
        pipeline.addLast(TLS, sslContext.get().newHandler(ch.alloc()));
    }
}
