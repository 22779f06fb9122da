package io.mss.server.gateway;

import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.ssl.SslContext;

/** TCP + TLS, the sync port's transport. */
final class TlsGatewayInitializer extends GatewayInitializer {
    private final SslContext sslContext;

    TlsGatewayInitializer(GatewayContext gateway, SslContext sslContext) {
        super(gateway);
        this.sslContext = sslContext;
    }

    @Override
    void addTransport(Channel ch, ChannelPipeline pipeline) {
        pipeline.addLast(TLS, sslContext.newHandler(ch.alloc()));
    }
}
